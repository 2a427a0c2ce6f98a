// SmokeContainer: validation, argv, digest choice and diff, as exact tables; and, with real
// processes, that its steps on a Mac wait for the Mac's lock.
// Cannot prove: that Docker answers the way these functions expect (the e2e and serialization
// tests do that against a real dockerd).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { UNKNOWN } from "../../provider/lib/checkInputs";
import { LOCK_PATH } from "../../provider/lib/machineLock";
import {
  diffSmokeContainer,
  dockerArgv,
  pickDigest,
  type SmokeContainerOutputs,
  smokeContainerProvider,
} from "../../provider/smokeContainer";
import { macRoot } from "../helpers/macRoot";

const check = (news: Record<string, unknown>) => {
  if (!smokeContainerProvider.check) throw new Error("SmokeContainer has no check");
  return smokeContainerProvider.check({}, news);
};

describe("SmokeContainer check", () => {
  it("fills the seed's defaults", async () => {
    assert.deepEqual(await check({ resourceName: "smoke", dockerHost: "unix:///Users/ops/.colima/default/docker.sock" }), {
      inputs: {
        resourceName: "smoke",
        dockerHost: "unix:///Users/ops/.colima/default/docker.sock",
        image: "hello-world:latest",
        expectOutput: "Hello from Docker!",
        dockerPath: "docker",
        timeoutSeconds: 120,
      },
    });
  });

  it("reports every problem at once, by property, with the value given", async () => {
    const r = await check({
      resourceName: "smoke",
      dockerHost: "/var/run/docker.sock",
      image: "--privileged",
      timeoutSeconds: 0,
      extra: true,
    });
    assert.deepEqual(r.failures, [
      { property: "dockerHost", reason: 'must be unix:///<absolute path to docker.sock> (got "/var/run/docker.sock")' },
      { property: "image", reason: 'must be a Docker image reference such as hello-world:latest (got "--privileged")' },
      { property: "timeoutSeconds", reason: "Too small: expected number to be >=1 (got 0)" },
      {
        property: "extra",
        reason:
          "is not a known input (allowed: resourceName, host, dockerHost, image, expectOutput, dockerPath, timeoutSeconds, trigger, vm, vmDecision, secrets)",
      },
    ]);
  });

  it("lets values unknown during preview through unvalidated", async () => {
    const r = await check({ resourceName: "smoke", dockerHost: UNKNOWN, __provider: "text" });
    assert.equal(r.failures, undefined);
    assert.equal(r.inputs.dockerHost, UNKNOWN);
    assert.equal("__provider" in r.inputs, false, "the engine adds __provider back itself");
  });

  const refs: [string, boolean][] = [
    ["hello-world", true],
    ["hello-world:latest", true],
    ["127.0.0.1:5000/colima-pulse/hello-world:latest", true],
    [`ghcr.io/org/app@sha256:${"a".repeat(64)}`, true],
    ["-v", false],
    ["Hello", false],
    ["img;rm -rf /", false],
    ["img latest", false],
  ];
  for (const [image, ok] of refs) {
    it(`image ${JSON.stringify(image)} is ${ok ? "accepted" : "refused"}`, async () => {
      const r = await check({ resourceName: "s", dockerHost: "unix:///d.sock", image });
      assert.equal(r.failures === undefined, ok, JSON.stringify(r.failures));
    });
  }
});

describe("SmokeContainer pure functions", () => {
  it("builds docker argv against the given host, never a shell string", () => {
    assert.deepEqual(dockerArgv({ dockerPath: "/opt/homebrew/bin/docker", dockerHost: "unix:///a b/docker.sock" }, "pull", "x"), [
      "/opt/homebrew/bin/docker",
      "--host",
      "unix:///a b/docker.sock",
      "pull",
      "x",
    ]);
  });

  it("records the digest of the image's own repository", () => {
    const digests = ["mirror.local/hello-world@sha256:1", "127.0.0.1:5000/hello-world@sha256:2"];
    assert.equal(pickDigest("127.0.0.1:5000/hello-world:latest", digests), "127.0.0.1:5000/hello-world@sha256:2");
    assert.equal(pickDigest("other:1", digests), "mirror.local/hello-world@sha256:1");
    assert.equal(pickDigest("hello-world", []), "");
  });

  const stored: SmokeContainerOutputs = {
    resourceName: "smoke",
    dockerHost: "unix:///d.sock",
    image: "hello-world:latest",
    expectOutput: "Hello from Docker!",
    dockerPath: "docker",
    timeoutSeconds: 120,
    trigger: "colima 0.10.3",
    imageId: "sha256:abc",
    imageDigest: "hello-world@sha256:def",
    output: "Hello from Docker!",
    serverVersion: "28.2.2",
    pulledByUs: true,
  };
  const { imageId, imageDigest, output, serverVersion, pulledByUs, ...inputs } = stored;
  void [imageId, imageDigest, output, serverVersion, pulledByUs];

  it("is quiet when nothing changed (no perpetual diff)", () => {
    assert.deepEqual(diffSmokeContainer(stored, inputs), {
      changes: false,
      replaces: [],
      deleteBeforeReplace: false,
      detailedDiff: {},
      reasons: [],
    });
  });

  it("re-runs in place for a new expectation, replaces for a new image or endpoint", () => {
    assert.deepEqual(diffSmokeContainer(stored, { ...inputs, expectOutput: "Hi" }).reasons, [
      "expectOutput: Hello from Docker! → Hi (the smoke test runs again)",
    ]);
    assert.deepEqual(diffSmokeContainer(stored, { ...inputs, image: "busybox", dockerHost: "unix:///e.sock" }), {
      changes: true,
      replaces: ["dockerHost", "image"],
      deleteBeforeReplace: false,
      detailedDiff: { dockerHost: { kind: "update-replace", inputDiff: true }, image: { kind: "update-replace", inputDiff: true } },
      reasons: [
        "dockerHost: unix:///d.sock → unix:///e.sock (another smoke test: the old image goes if it was ours)",
        "image: hello-world:latest → busybox (another smoke test: the old image goes if it was ours)",
      ],
    });
    assert.deepEqual(diffSmokeContainer(stored, { ...inputs, trigger: "colima 0.10.4" }).reasons, [
      "trigger: colima 0.10.3 → colima 0.10.4 (the smoke test runs again under them)",
    ]);
    // State written before SmokeContainer knew its Mac: one re-run, under the lock, records it.
    assert.deepEqual(diffSmokeContainer(stored, { ...inputs, host: { root: "/", user: "ops" } }).reasons, [
      'host: (none) → {"root":"/","user":"ops"} (the smoke test runs again)',
    ]);
  });

  it("runs again on a VM provisioned again (a reset, a restore), not on the same VM", () => {
    const onVm = { ...stored, vm: "2026-12-01T10:00:00.000Z provisioned" };
    const same = { ...inputs, vm: onVm.vm };
    assert.deepEqual(diffSmokeContainer(onVm, same).reasons, [], "the same VM: quiet");
    assert.deepEqual(
      diffSmokeContainer(onVm, { ...same, vmDecision: "a full reset (npm run reset, decision X)" }).reasons,
      [],
      "a decision the profile did not carry out: quiet",
    );
    assert.deepEqual(diffSmokeContainer(onVm, { ...inputs, vm: "2026-12-07T08:00:00.000Z restored from /b/20261201T100000Z-default" }), {
      changes: true,
      replaces: [],
      deleteBeforeReplace: false,
      detailedDiff: { vm: { kind: "update", inputDiff: true } },
      reasons: ["vm changed (the profile was restored from /b/20261201T100000Z-default: the smoke test runs on its VM)"],
    });
    // A generation written before generations said what happened: a bare time.
    assert.deepEqual(
      diffSmokeContainer({ ...stored, vm: "2026-12-01T10:00:00.000Z" }, { ...inputs, vm: "2026-12-07T08:00:00.000Z" }).reasons,
      ["vm changed (the profile was provisioned again: the smoke test runs on its VM)"],
    );
  });

  it("in a preview (the VM not known yet) this run's decision says the smoke test runs; a resize does not", () => {
    const onVm = { ...stored, vm: "2026-12-01T10:00:00.000Z provisioned" };
    assert.deepEqual(diffSmokeContainer(onVm, { ...inputs, vm: UNKNOWN }).reasons, [], "a resize keeps the VM");
    assert.deepEqual(
      diffSmokeContainer(onVm, { ...inputs, vm: UNKNOWN, vmDecision: "a restore (npm run restore, decision 20261207T080000Z)" }).reasons,
      ["vm changed (a restore (npm run restore, decision 20261207T080000Z): the smoke test runs on the new VM)"],
    );
    // The decision the smoke test already ran under is not a new one.
    const ran = { ...onVm, vmDecision: "a full reset (npm run reset, decision X)" };
    assert.deepEqual(diffSmokeContainer(ran, { ...inputs, vm: UNKNOWN, vmDecision: ran.vmDecision }).reasons, []);
  });

  it("state written before the smoke test recorded its VM: stored at its next run, run now only for a decision", () => {
    assert.deepEqual(diffSmokeContainer(stored, { ...inputs, vm: "2026-12-07T08:00:00.000Z provisioned" }).reasons, []);
    assert.deepEqual(
      diffSmokeContainer(stored, {
        ...inputs,
        vm: "2026-12-07T08:00:00.000Z provisioned",
        vmDecision: "a full reset (npm run reset, decision X)",
      }).reasons,
      ["vm changed (a full reset (npm run reset, decision X): the smoke test runs on the new VM)"],
    );
  });

  it("asks for a re-run when refresh found the image gone", () => {
    assert.deepEqual(diffSmokeContainer({ ...stored, imageId: "" }, inputs), {
      changes: true,
      replaces: [],
      deleteBeforeReplace: false,
      detailedDiff: { imageId: { kind: "update", inputDiff: false } },
      reasons: ["imageId changed (image hello-world:latest is no longer on the engine: pulled and run again)"],
    });
  });
});

describe("SmokeContainer on a Mac", () => {
  /** A Mac root with what the lock needs (/bin/ps, its tools), its lock held by a live
   *  process, and a docker CLI that notes each call and fails (no engine needed to see when it ran). */
  function heldMac() {
    const host = macRoot("cpulse-smoke-lock-");
    const root = host.root;
    const holder = spawn("sleep", ["60"], { stdio: "ignore" });
    mkdirSync(join(root, LOCK_PATH), { recursive: true });
    writeFileSync(
      join(root, LOCK_PATH, "owner.json"),
      JSON.stringify({ pid: holder.pid, command: "sleep 60", since: "2026-11-29T00:00:00.000Z" }),
    );
    const calls = join(root, "docker-calls");
    const docker = join(root, "docker");
    writeFileSync(docker, `#!/bin/sh\necho "$*" >> ${calls}\necho "Error response from daemon: boom" >&2\nexit 1\n`, { mode: 0o755 });
    const inputs = { ...smokeInputs, host, dockerPath: docker };
    return { root, holder, calls, inputs };
  }
  const smokeInputs: SmokeContainerOutputs = {
    resourceName: "smoke",
    dockerHost: "unix:///Users/ops/.colima/default/docker.sock",
    image: "hello-world:latest",
    expectOutput: "Hello from Docker!",
    dockerPath: "docker",
    timeoutSeconds: 120,
    imageId: "sha256:1",
    imageDigest: "",
    output: "",
    serverVersion: "",
    pulledByUs: true,
  };

  for (const step of ["create", "update", "delete"] as const) {
    it(`${step} waits for the Mac's lock before it runs docker`, async (t) => {
      const mac = heldMac();
      const p = smokeContainerProvider;
      // The lock's first try that finds it held says so on the resource's row (provider/lib/checkInputs.ts say).
      let heard: (v: "waiting") => void = () => undefined;
      const waiting = new Promise<"waiting">((r) => {
        heard = r;
      });
      const log = console.log;
      t.mock.method(console, "log", (...a: unknown[]) => {
        if (String(a[0]).startsWith("[smoke] waiting for another colima-pulse run")) heard("waiting");
        else log(...a);
      });
      const running =
        step === "create"
          ? p.create?.(mac.inputs)
          : step === "update"
            ? p.update?.("id", mac.inputs, mac.inputs)
            : p.delete?.("id", mac.inputs);
      const settled = Promise.resolve(running).then(
        () => "ok",
        (e: Error) => e.message,
      );
      // The step either found the lock held and waits, or (unguarded) ran docker and failed.
      assert.equal(await Promise.race([waiting, settled]), "waiting", "the step did not wait for the Mac's lock");
      assert.equal(existsSync(mac.calls), false, "docker ran while another run held the Mac");
      mac.holder.kill("SIGKILL");
      const outcome = await settled;
      assert.match(readFileSync(mac.calls, "utf8"), step === "delete" ? /image rm hello-world:latest/ : /version --format/);
      assert.match(outcome, /boom/, "the step ran once the lock was free");
      const owner = JSON.parse(readFileSync(join(mac.root, LOCK_PATH, "owner.json"), "utf8")) as { pid: number };
      assert.equal(owner.pid, process.pid);
    });
  }

  it("a plain Docker endpoint (no host) has no Mac to wait for", async () => {
    const mac = heldMac();
    try {
      const { host: _none, ...plain } = mac.inputs;
      await assert.rejects(Promise.resolve(smokeContainerProvider.create?.(plain)), /boom/);
      assert.ok(existsSync(mac.calls));
    } finally {
      mac.holder.kill("SIGKILL");
    }
  });
});
