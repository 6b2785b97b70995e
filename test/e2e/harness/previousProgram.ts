/**
 * TEST harness: the program as it was at an earlier commit (the last release), checked out into a directory of its
 * own, for the upgrade test (upgrade.e2e.test.ts): a stack deployed with it must preview with the current program
 * without a replace or a delete.
 *
 * Which commit: UPGRADE_FROM_REF when set (any git revision); else the commit the last release tag (`v*`) before HEAD
 * points at; else the commit CHANGELOG.md records for the last release; else, on a branch, where it left `main` (`git merge-base HEAD main`); else HEAD~1, the commit before the
 * change (CI's fresh clone of main before the first tag). Tags and that history must be in the clone: the release
 * workflow checks out with `fetch-depth: 0`.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { REPO_ROOT } from "../sandbox/paths";

/** A commit and why it was picked (shown in the test's title and failures). */
export interface UpgradeFrom {
    commit: string;
    why: string;
}

function git(args: string[]): string | undefined {
    try {
        return execFileSync("git", args, {
            cwd: REPO_ROOT,
            encoding: "utf8",
            stdio: ["ignore", "pipe", "ignore"],
        }).trim();
    } catch {
        return undefined;
    }
}

function commitOf(revision: string): string | undefined {
    return git(["rev-parse", "--verify", "--quiet", `${revision}^{commit}`]);
}

/** The commit to upgrade from (see the file comment); throws with the fix when the clone has none. */
export function upgradeFromCommit(env: NodeJS.ProcessEnv = process.env): UpgradeFrom {
    const head = commitOf("HEAD");
    if (env.UPGRADE_FROM_REF) {
        const commit = commitOf(env.UPGRADE_FROM_REF);
        if (!commit)
            throw new Error(
                `UPGRADE_FROM_REF=${env.UPGRADE_FROM_REF} is no commit of this clone; fix: fetch it (git fetch --tags) or set a commit that exists`,
            );
        return { commit, why: `UPGRADE_FROM_REF=${env.UPGRADE_FROM_REF}` };
    }
    // The last release before this commit: on a tagged commit (a release being built), the release before it.
    for (const base of ["HEAD", "HEAD~1"]) {
        const tag = git(["describe", "--tags", "--abbrev=0", "--match", "v[0-9]*", base]);
        const commit = tag && commitOf(tag);
        if (tag && commit && commit !== head) return { commit, why: `the last release tag ${tag}` };
    }
    // The last release CHANGELOG.md records with its commit (`## [x.y.z] … commit <sha>`): what CI on a fresh clone
    // of main upgrades from, tags or not.
    const changelog = fs.readFileSync(path.join(REPO_ROOT, "CHANGELOG.md"), "utf8");
    const released = /^## \[(\d+\.\d+\.\d+)\][^\n]*\bcommit ([0-9a-f]{7,40})\b/m.exec(changelog);
    const releasedCommit = released && commitOf(released[2]);
    if (released && releasedCommit && releasedCommit !== head)
        return { commit: releasedCommit, why: `release ${released[1]} (CHANGELOG.md, commit ${released[2]})` };
    for (const main of ["main", "origin/main"]) {
        const commit = commitOf(main) && git(["merge-base", "HEAD", main]);
        if (commit && commit !== head) return { commit, why: `where HEAD left ${main} (git merge-base HEAD ${main})` };
    }
    const parent = commitOf("HEAD~1");
    if (parent) return { commit: parent, why: "the commit before HEAD (no release tag yet)" };
    throw new Error(
        "no earlier commit to upgrade from: the clone has neither a v* tag nor HEAD~1; fix: clone with history " +
            "(actions/checkout fetch-depth: 0) or set UPGRADE_FROM_REF",
    );
}

/** The installed packages package-lock.json pins (its `packages`, the root project's own entry left out). */
function lockedPackages(lockText: string): string {
    const lock = JSON.parse(lockText) as { packages?: Record<string, { version?: string; resolved?: string }> };
    return JSON.stringify(
        Object.entries(lock.packages ?? {})
            .filter(([location]) => location !== "")
            .map(([location, entry]) => [location, entry.version, entry.resolved]),
    );
}

/**
 * Writes the tracked files of `commit` into `dir` (git archive: works in any clone, no worktree left behind) and gives
 * it dependencies: this checkout's node_modules when both locks pin the same packages, else `npm ci` there.
 * @returns how the dependencies were installed, for the test's log
 */
export function checkOutProgram(commit: string, dir: string): "node_modules reused" | "npm ci" {
    fs.mkdirSync(dir, { recursive: true });
    const archive = execFileSync("git", ["archive", "--format=tar", commit], {
        cwd: REPO_ROOT,
        maxBuffer: 512 * 1024 * 1024,
    });
    execFileSync("tar", ["-x", "-C", dir], { input: archive });
    const oldLock = path.join(dir, "package-lock.json");
    const currentLock = fs.readFileSync(path.join(REPO_ROOT, "package-lock.json"), "utf8");
    if (fs.existsSync(oldLock) && lockedPackages(fs.readFileSync(oldLock, "utf8")) === lockedPackages(currentLock)) {
        fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(dir, "node_modules"));
        return "node_modules reused";
    }
    execFileSync("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], {
        cwd: dir,
        stdio: ["ignore", "pipe", "pipe"],
    });
    return "npm ci";
}

/** The @pulumi/kubernetes version a checkout's node_modules holds (its provider plugin must be in the plugin cache). */
export function kubernetesSdkVersion(dir: string): string {
    return (
        JSON.parse(
            fs.readFileSync(path.join(dir, "node_modules", "@pulumi", "kubernetes", "package.json"), "utf8"),
        ) as {
            version: string;
        }
    ).version;
}
