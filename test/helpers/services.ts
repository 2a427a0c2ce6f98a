// The real services the harness started (test/services/services.sh), read from the environment
// that scripts/test.sh exports. A test that needs them fails loudly when they are missing: a
// skipped end-to-end test proves nothing.
//
// Test files run in parallel (scripts/test.sh), each in its own process, and the harness starts
// one dockerd per lane (as many as files run at once). A process takes a free lane the first
// time it asks and keeps it until it exits, so no two files ever share an engine's images or
// containers (one file's smoke test removing the image another is about to run, say).
import { linkSync, readFileSync, rmSync, writeFileSync } from "node:fs";

export interface TestServices {
  /** unix:///…/docker.sock of this process's own dockerd (its lane). */
  dockerHost: string;
  /** 127.0.0.1:<port> of the loopback registry (shared: tests only pull from it). */
  registry: string;
  /** The locally built hello-world image, pushed to that registry. */
  smokeImage: string;
}

let claimed: string | undefined;

export function testServices(): TestServices {
  const registry = process.env.TEST_REGISTRY;
  const smokeImage = process.env.TEST_SMOKE_IMAGE;
  const lanes = process.env.TEST_DOCKER_LANES;
  const count = Number(process.env.TEST_DOCKER_LANE_COUNT);
  if (!registry || !smokeImage || !lanes || !(count >= 1)) {
    throw new Error(
      "TEST_DOCKER_LANES, TEST_DOCKER_LANE_COUNT, TEST_REGISTRY and TEST_SMOKE_IMAGE are not set: test/services/services.sh sets them, which `npm test` and `npm run converge` start",
    );
  }
  claimed ??= claimLane(lanes, count);
  return { dockerHost: `unix://${claimed}/docker.sock`, registry, smokeImage };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
};

/** The first lane without a live claimant, claimed for this process: a `claim` file holding its
 *  pid, put in place whole with link(2) (which fails if one exists), removed when it exits. */
function claimLane(prefix: string, count: number): string {
  for (let i = 0; i < count; i++) {
    const dir = `${prefix}${i}`;
    const claim = `${dir}/claim`;
    const mine = `${claim}.${process.pid}`;
    writeFileSync(mine, String(process.pid));
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        linkSync(mine, claim);
        rmSync(mine);
        process.on("exit", () => rmSync(claim, { force: true }));
        return dir;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        // A claim left by a process that died without its exit handler (SIGKILL): take it over.
        // (Only the harness kills test processes so, and it starts the next file after.)
        let owner: number;
        try {
          owner = Number(readFileSync(claim, "utf8"));
        } catch {
          continue; // released meanwhile: try again
        }
        if (alive(owner)) break;
        rmSync(claim, { force: true });
      }
    }
    rmSync(mine);
  }
  throw new Error(`all ${count} docker lanes (${prefix}0…) are taken by live test processes: run at most ${count} test files at once`);
}
