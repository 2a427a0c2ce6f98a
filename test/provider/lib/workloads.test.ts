// provider/lib/workloads.ts: which containers the workloads gate waits for (moby's restore rule,
// read from `docker inspect`), when one is ready, and the supervisor's times file.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { expected, parseInspect, parseTimes, ready, describe as say, shortSeconds } from "../../../provider/lib/workloads";

const UP = "2026-12-07T18:00:05Z";
const one = (line: string) => parseInspect(line)[0] as NonNullable<ReturnType<typeof parseInspect>[0]>;

describe("the workloads rule", () => {
  it("parses docker inspect's line: the name without its slash, health none without a healthcheck, the error as the rest", () => {
    assert.deepEqual(parseInspect("/web always exited none 2026-12-07T17:00:00Z 2026-12-07T17:59:00Z error while mounting: x y\n\n"), [
      {
        name: "web",
        policy: "always",
        status: "exited",
        health: "none",
        startedAt: "2026-12-07T17:00:00Z",
        finishedAt: "2026-12-07T17:59:00Z",
        error: "error while mounting: x y",
      },
    ]);
  });

  it("expects always and unless-stopped containers that were started before; not one stopped by hand", () => {
    const cases: [string, boolean][] = [
      ["/a always running none 2026-12-07T17:00:00Z 0001-01-01T00:00:00Z ", true],
      ["/a unless-stopped running healthy 2026-12-07T17:00:00Z 0001-01-01T00:00:00Z ", true],
      ["/a no running none 2026-12-07T17:00:00Z 0001-01-01T00:00:00Z ", false],
      ["/a on-failure exited none 2026-12-07T17:00:00Z 2026-12-07T17:59:00Z ", false],
      ["/a always created none 0001-01-01T00:00:00Z 0001-01-01T00:00:00Z ", false], // never started
      ["/a always exited none 2026-12-07T17:00:00Z 2026-12-07T17:59:00Z ", true], // restore should have started it
      ["/a always exited none 2026-12-07T17:00:00Z 2026-12-07T18:10:00Z ", false], // stopped since Docker came up
      ["/a unless-stopped exited none 2026-12-07T17:00:00Z 2026-12-07T17:59:00Z ", false], // stopped by hand
      ["/a unless-stopped exited none 2026-12-07T17:00:00Z 2026-12-07T17:59:00Z oci runtime error", true], // its start failed
    ];
    for (const [line, want] of cases) assert.equal(expected(one(line), UP), want, line);
    // Without the supervisor's time, an exited always container is waited for.
    assert.equal(expected(one("/a always exited none 2026-12-07T17:00:00Z 2026-12-07T18:10:00Z ")), true);
  });

  it("ready: running (or paused), and healthy where it has a healthcheck", () => {
    assert.equal(ready(one("/a always running none s f ")), true);
    assert.equal(ready(one("/a always paused none s f ")), true);
    assert.equal(ready(one("/a always running healthy s f ")), true);
    assert.equal(ready(one("/a always running starting s f ")), false);
    assert.equal(ready(one("/a always running unhealthy s f ")), false);
    assert.equal(ready(one("/a always restarting none s f ")), false);
    assert.equal(say(one("/a always running unhealthy s f ")), "a (restart always, running, health unhealthy)");
    assert.equal(say(one("/a always exited none s f boom")), "a (restart always, exited, no healthcheck, error: boom)");
  });

  it("reads the supervisor's times file; says seconds shortly", () => {
    assert.deepEqual(parseTimes("boot 1796668800\ndocker_up 2026-12-07T18:01:30Z\nboot_to_docker 90\nboot_to_workloads 97\n"), {
      boot: 1796668800,
      dockerUp: "2026-12-07T18:01:30Z",
      bootToDockerSeconds: 90,
      bootToWorkloadsSeconds: 97,
    });
    assert.deepEqual(parseTimes("boot \ndocker_up 2026-12-07T18:01:30Z\nboot_to_docker ?\nnot_ready web (restart always)\n"), {
      dockerUp: "2026-12-07T18:01:30Z",
      notReady: "web (restart always)",
    });
    assert.deepEqual(parseTimes(undefined), {});
    assert.deepEqual([undefined, 42, 65, 3725].map(shortSeconds), ["-", "42s", "1m05s", "1h02m"]);
  });
});
