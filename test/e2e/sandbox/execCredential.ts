/**
 * Exec-plugin kubeconfigs, like the ones `aws eks update-kubeconfig` writes (docs/kubesphere.md §5, EKS). TEST ONLY.
 *
 * `<dir>/bin/aws` is a small shell script standing in for the AWS CLI: `aws eks get-token --cluster-name <name>`
 * prints an ExecCredential holding that sandbox cluster's admin token, read from `<dir>/clusters/<name>/tokens.csv`.
 * The kubeconfigs `<dir>/kubeconfigs/<name>-exec.yaml` run it, so they hold no token themselves. It is named `aws`
 * so that KubeSphere's failure with such a kubeconfig reads exactly as users see it: "exec: executable aws not found".
 */
import * as fs from "fs";
import * as path from "path";
import { clustersDir } from "./apiServer";

/** Name of the stand-in executable (its basename appears in the emulator's Ready=False message). */
export const EXEC_PLUGIN_NAME = "aws";

/** Absolute path of the stand-in `aws` script of the sandbox in `dir`. */
export function execPluginPath(dir: string): string {
    return path.join(dir, "bin", EXEC_PLUGIN_NAME);
}

/** The args a cluster's exec kubeconfig passes, in `aws eks update-kubeconfig`'s shape. */
export function execPluginArgs(name: string): string[] {
    return ["eks", "get-token", "--cluster-name", name, "--output", "json"];
}

function shellQuote(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Writes `<dir>/bin/aws` (mode 0755) and returns its path. It embeds only the sandbox's clusters folder. */
export function writeExecPlugin(dir: string): string {
    const file = execPluginPath(dir);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const script = `#!/bin/sh
# TEST ONLY, written by the e2e sandbox: stands in for \`aws eks get-token\` in <sandbox>/kubeconfigs/*-exec.yaml.
# Prints a client.authentication.k8s.io/v1beta1 ExecCredential holding the sandbox cluster's admin token.
set -eu
clusters_dir=${shellQuote(clustersDir(dir))}
usage() { echo "aws (e2e sandbox stand-in): usage: aws eks get-token --cluster-name NAME [--output json]" >&2; exit 2; }
[ "$#" -ge 2 ] && [ "$1" = eks ] && [ "$2" = get-token ] || usage
shift 2
cluster=""
while [ "$#" -gt 0 ]; do
  case "$1" in
    --cluster-name) [ "$#" -ge 2 ] || usage; cluster="$2"; shift 2 ;;
    --output) [ "$#" -ge 2 ] || usage; [ "$2" = json ] || usage; shift 2 ;;
    --region) [ "$#" -ge 2 ] || usage; shift 2 ;;
    *) usage ;;
  esac
done
case "$cluster" in
  "" | *[!A-Za-z0-9-]*) usage ;;
esac
tokens="$clusters_dir/$cluster/tokens.csv"
[ -r "$tokens" ] || { echo "aws (e2e sandbox stand-in): no sandbox cluster \\"$cluster\\"" >&2; exit 1; }
token="$(head -n 1 "$tokens" | cut -d , -f 1)"
printf '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"%s"}}\\n' "$token"
`;
    fs.writeFileSync(`${file}.tmp`, script, { mode: 0o755 });
    fs.renameSync(`${file}.tmp`, file);
    return file;
}
