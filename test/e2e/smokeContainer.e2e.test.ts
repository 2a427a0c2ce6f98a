// End to end through the real engine: preview, up, a second up that changes nothing, a refresh
// drift check, and destroy of a stack holding one SmokeContainer, against the harness's real
// dockerd and loopback registry. Asserts on the engine's own output and state and on Docker's
// answers. What this cannot prove: anything about a Mac (Colima, launchd) — later layers.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { TestStack } from "../helpers/pulumiStack";
import { testServices } from "../helpers/services";

const services = testServices();

/** A program holding only a SmokeContainer against the harness's dockerd (no Mac needed). */
const SMOKE_ONLY = `import * as pulumi from "@pulumi/pulumi";
import { SmokeContainer } from "../provider/smokeContainer";
const config = new pulumi.Config();
const smoke = new SmokeContainer("smoke", {
  dockerHost: config.require("dockerHost"),
  image: config.require("smokeImage"),
  expectOutput: config.require("smokeExpectOutput"),
});
export const smokeImageDigest = smoke.imageDigest;
`;

function docker(...args: string[]): { ok: boolean; out: string } {
  try {
    return { ok: true, out: execFileSync("docker", ["--host", services.dockerHost, ...args], { encoding: "utf8", stdio: "pipe" }) };
  } catch (e) {
    return { ok: false, out: String((e as { stderr?: string }).stderr ?? e) };
  }
}

describe("SmokeContainer through the real Pulumi engine", { concurrency: false }, () => {
  let stack: TestStack;

  before(async () => {
    const version = execFileSync("pulumi", ["version"], { encoding: "utf8" }).trim();
    console.log(`pulumi binary: ${version}`);
    assert.match(version, /^v3\.\d+\.\d+/);
    docker("image", "rm", services.smokeImage); // the first up must really pull
    stack = await TestStack.create(
      "e2e-smoke",
      { dockerHost: services.dockerHost, smokeImage: services.smokeImage },
      { program: SMOKE_ONLY },
    );
  });

  after(async () => {
    await stack?.dispose();
  });

  it("preview plans exactly one SmokeContainer and runs nothing", async () => {
    const r = await stack.must(["preview", "--json"]);
    const steps = (JSON.parse(r.stdout) as { steps: { op: string; urn: string }[] }).steps;
    console.log(`preview steps: ${steps.map((s) => `${s.op} ${s.urn.split("::").pop()}`).join(", ")}`);
    assert.deepEqual(
      steps.map((s) => [s.op, s.urn.split("::")[2]]),
      [
        ["create", "pulumi:pulumi:Stack"],
        ["create", "pulumi-nodejs:dynamic/colima-pulse:SmokeContainer"],
      ],
    );
    assert.equal(docker("image", "inspect", services.smokeImage).ok, false, "preview must not pull");
  });

  it("up pulls from the registry, runs the container and records the digest", async () => {
    const r = await stack.must(["up", "--yes", "--skip-preview"]);
    console.log(
      r.stdout
        .split("\n")
        .filter((l) => /\[smoke\]|created|Resources/.test(l))
        .slice(0, 6)
        .join("\n"),
    );
    assert.match(r.stdout, /\+ 2 created/);
    assert.match(r.stdout, /\[smoke\] ran .* output as expected/);
    const outs = await stack.outputsOf("colima-pulse:SmokeContainer");
    const inspected = JSON.parse(docker("image", "inspect", "--format", "{{json .RepoDigests}}", services.smokeImage).out) as string[];
    assert.deepEqual([outs.imageDigest], inspected, "recorded digest is the one Docker has");
    assert.match(String(outs.imageDigest), new RegExp(`^${services.registry}/colima-pulse/hello-world@sha256:[a-f0-9]{64}$`));
    assert.equal(outs.pulledByUs, true);
    assert.match(String(outs.output), /^Hello from Docker!/);
    assert.match(String(outs.serverVersion), /^\d+\.\d+/);
    const leftovers = docker("ps", "-a", "--filter", "label=io.colima-pulse.smoke", "--format", "{{.ID}}");
    assert.equal(leftovers.out.trim(), "", "the smoke container removes itself");
  });

  it("a second up changes nothing and a refresh finds no drift", async () => {
    const r = await stack.must(["up", "--yes", "--skip-preview", "--expect-no-changes"]);
    assert.match(r.stdout, /2 unchanged/);
    assert.doesNotMatch(r.stdout, /\[smoke\]/, "no provider work on a converged stack");
    const drift = await stack.cli(["preview", "--refresh", "--expect-no-changes"]);
    assert.equal(drift.code, 0, drift.stdout + drift.stderr);
  });

  it("refresh sees the image removed behind Pulumi's back, and up repairs it", async () => {
    assert.equal(docker("image", "rm", services.smokeImage).ok, true);
    const drift = await stack.cli(["preview", "--refresh", "--expect-no-changes", "--json"]);
    assert.notEqual(drift.code, 0, "drift must fail --expect-no-changes");
    const steps = (JSON.parse(drift.stdout) as { steps: { op: string; urn: string }[] }).steps;
    const smoke = steps.find((s) => s.urn.endsWith("SmokeContainer::smoke") && s.op !== "refresh");
    assert.equal(smoke?.op, "update");
    assert.match(drift.stdout, /\[smoke\] will run again: imageId changed \(image .* is no longer on the engine/);
    await stack.must(["up", "--yes", "--skip-preview", "--refresh"]);
    assert.equal(docker("image", "inspect", services.smokeImage).ok, true);
  });

  it("destroy removes the image it pulled and leaves an empty stack", async () => {
    const r = await stack.must(["destroy", "--yes", "--skip-preview"]);
    assert.match(r.stdout, /- 2 deleted/);
    assert.equal(docker("image", "inspect", services.smokeImage).ok, false);
    assert.deepEqual((await stack.state()).resources ?? [], []);
  });
});
