/**
 * `npm run doctor -- --stack <stack>`: per member, every diagnosis check (components/members/diagnosis.ts) and its verdict, as
 * a table, from the stack's config, read-only; the stack is read as program/stackFiles.ts says; members'
 * `stackReference` kubeconfig sources are reported as not checked.
 */
import * as path from "path";
import { diagnose } from "../components/members/diagnosis/diagnose";
import { Diagnosis, Finding } from "../components/members/diagnosis/findings";
import { formatTable } from "../components/members/diagnosis/format";
import { readDiagnosisFacts } from "../components/members/diagnosis/readFacts";
import { defaultImportCredentials } from "../components/members/direct/importCredentials";
import { ClusterAccess, liveClusterAccess } from "../components/kubesphere/clusterAccess";
import { withServer } from "../components/kubernetes/kubeconfig";
import {
    hostFromStack,
    ownHost,
    pulumiStackOutput,
    readStackConfig,
    resolveSource,
    StackOutputReader,
} from "./stackFiles";

function notChecked(member: string, why: string): Diagnosis {
    const finding: Finding = { check: "preflight", title: "versions and pre-flight", verdict: "skip", evidence: why };
    return { member, findings: [finding] };
}

/** Diagnoses every member of the stack; reads only. */
export async function doctor(
    projectDir: string,
    stack: string,
    access: ClusterAccess = liveClusterAccess,
    readStackOutput: StackOutputReader = pulumiStackOutput,
): Promise<Diagnosis[]> {
    const config = readStackConfig(projectDir, stack);
    const { hostKubeconfig, hostMajor, hostClusterName } =
        "stackReference" in config.host
            ? hostFromStack(config.host.stackReference, projectDir, readStackOutput)
            : await ownHost(config.host, projectDir, stack, access);
    return Promise.all(
        config.members.map(async (member, index) => {
            const configKey = `members[${index}]`;
            const resolved = resolveSource(member.kubeconfig, `${configKey}.kubeconfig`, projectDir, stack);
            if (typeof resolved === "string") return notChecked(member.name, resolved);
            const credentials = member.credentials ?? defaultImportCredentials(resolved.authMethod, hostMajor);
            const importKubeconfig =
                credentials !== "kubeconfig"
                    ? undefined
                    : member.apiServerEndpoint === undefined
                      ? resolved
                      : withServer(resolved, member.apiServerEndpoint);
            const facts = await readDiagnosisFacts(
                {
                    member: member.name,
                    configKey,
                    hostMajor,
                    hostClusterName,
                    memberKubeconfig: resolved,
                    hostKubeconfig,
                    credentials,
                    importKubeconfig,
                    withPods: true,
                    viaAgent: member.connection === "agent",
                },
                access,
            );
            return diagnose(facts);
        }),
    );
}

/** The CLI: prints the table, exits 1 when a member has a failing check, 2 on bad arguments or config. */
export async function main(argv: string[]): Promise<number> {
    const value = (flag: string) => {
        const at = argv.indexOf(flag);
        return at >= 0 ? argv[at + 1] : undefined;
    };
    const stack = value("--stack");
    if (stack === undefined) {
        process.stderr.write("usage: npm run doctor -- --stack <stack> [--dir <project directory>]\n");
        return 2;
    }
    try {
        const diagnoses = await doctor(path.resolve(value("--dir") ?? process.cwd()), stack);
        process.stdout.write(`${formatTable(diagnoses)}\n`);
        const failing = diagnoses.filter((diagnosis) => diagnosis.findings.some((found) => found.verdict === "fail"));
        process.stdout.write(
            failing.length === 0
                ? `\nNo failing check (${diagnoses.length} member(s)).\n`
                : `\n${failing.length} member(s) with a failing check: ${failing.map((diagnosis) => `${diagnosis.member} (${diagnosis.cause?.title})`).join(", ")}\n`,
        );
        return failing.length === 0 ? 0 : 1;
    } catch (err) {
        process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
        return 2;
    }
}
