// HealthGate against the simulated Mac's real processes: a gate ends at its timeout even when its
// probe hangs (issue: the QEMU probe's `colima status` had a 60 s timeout of its own), and its
// error names what it last saw; the hung command does not outlive the gate.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { DOCKER_ANSWER_CAP, dockerGet, type HealthGateInputs, healthGateProvider } from "../../provider/healthGate";
import { waitFor } from "../helpers/simulatedMac";
import { MacSimulator } from "../simulator/simulator";

describe("HealthGate deadlines", () => {
  let sim: MacSimulator;
  let socket: Server;
  before(async () => {
    sim = await MacSimulator.create({ dockerTarget: "/nonexistent/docker.sock", formulae: ["colima"] });
    // The socket gate passes at once: something listens at the profile's docker.sock.
    const path = sim.path("/Users/ops/.colima/default/docker.sock");
    mkdirSync(dirname(path), { recursive: true });
    socket = createServer();
    await new Promise<void>((resolve) => socket.listen(path, resolve));
    process.env.SIM_USER = "ops"; // the provider runs as the operator, who is the Homebrew user here
  });
  after(async () => {
    socket.close();
    await sim.dispose();
  });

  it("a QEMU probe that hangs ends the gate at WAIT_QEMU_MAX, naming the hung command", async () => {
    sim.setFaults({ statusHangs: true });
    const qemuTimeout = 2;
    const inputs: HealthGateInputs = {
      resourceName: "gate",
      host: { root: sim.root, user: "ops" },
      prefix: sim.path("/opt/homebrew"),
      profile: "default",
      socketTimeout: 5,
      qemuTimeout,
      apiTimeout: 5,
      stableRequired: 1,
      trigger: "t",
      versions: {},
    };
    const create = healthGateProvider.create;
    assert.ok(create);
    const error = await create(inputs).then(
      () => assert.fail("the gate passed"),
      (e: Error) => e,
    );
    const m = /^gate "QEMU" did not pass within 2s \(waited (\d+\.\d)s\); last observation: (.*)$/m.exec(error.message);
    assert.ok(m, error.message);
    // It failed at its deadline, not before (the gate ends only once its time is up).
    assert.ok(Number(m[1]) >= qemuTimeout, `the gate waited ${m[1]}s`);
    // The hung command was given the gate's time left as its own timeout (not a 60 s one), and
    // answered with that: had it ignored it, the gate's backstop would name the probe instead.
    const t = /^timed out after (\d+) ms: .*\/opt\/homebrew\/bin\/colima status --profile default --json$/.exec(m[2] as string);
    assert.ok(t, m[2]);
    assert.ok(Number(t[1]) <= qemuTimeout * 1000, `colima status was given ${t[1]} ms`);
    console.log(`QEMU gate: waited ${m[1]}s of ${qemuTimeout}s; colima status was given ${t[1]} ms`);
    // Frozen at the deadline and killed right after it (provider/lib/process.ts): it goes away.
    const hung = () =>
      execFileSync("/bin/ps", ["-A", "-o", "stat=,args="], { encoding: "utf8" })
        .split("\n")
        .filter((l) => l.includes(`${sim.root}/opt/homebrew/bin/colima status`) && !l.trim().startsWith("Z"));
    await waitFor("the hung colima status to be gone", () => hung().length === 0).catch(() => undefined);
    assert.deepEqual(hung(), [], "the hung colima status was ended with the gate");
  });
});

describe("dockerGet: an answer read as bytes, with a cap", () => {
  /** A unix-socket HTTP server whose answer is written by `answer`, chunk by chunk. */
  async function serving(answer: (res: import("node:http").ServerResponse) => void): Promise<{ path: string; close: () => void }> {
    const dir = mkdtempSync(join(tmpdir(), "docker-get-"));
    const path = join(dir, "docker.sock");
    const server = createHttpServer((_req, res) => answer(res));
    await new Promise<void>((resolve) => server.listen(path, resolve));
    return { path, close: () => server.close() };
  }

  it("a character split across two writes arrives whole", async () => {
    const e = Buffer.from("é");
    const s = await serving((res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write(e.subarray(0, 1));
      setTimeout(() => res.end(Buffer.concat([e.subarray(1), Buffer.from("OK")])), 50);
    });
    try {
      assert.deepEqual(await dockerGet(s.path, "/_ping"), { status: 200, body: "éOK" });
    } finally {
      s.close();
    }
  });

  it("an answer past the cap is refused, naming the cap, and not kept", async () => {
    const s = await serving((res) => {
      res.writeHead(200);
      const block = Buffer.alloc(64 * 1024, "x");
      let sent = 0;
      const more = () => {
        while (sent <= DOCKER_ANSWER_CAP && res.write(block)) sent += block.length;
        if (sent <= DOCKER_ANSWER_CAP) res.once("drain", more);
        else res.end(block);
      };
      more();
    });
    try {
      await assert.rejects(dockerGet(s.path, "/version", 10_000), new RegExp(`more than ${DOCKER_ANSWER_CAP} bytes to GET /version`));
    } finally {
      s.close();
    }
  });
});
