// The fleet's guardrails (policy/rules.ts), each rule called as the engine's pack calls it, with
// the inputs (resource rules) or outputs (stack rules) components/colimaPulse.ts's resources
// carry; and the fleet's settings file (policy/config.ts). test/e2e/policy.e2e.test.ts runs the
// pack through the real engine.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { unknownCheckingProxy } from "@pulumi/policy";
import * as proxy from "@pulumi/policy/proxy";
import { CONFIG_FILE, PolicyConfigError, parsePolicyConfig, readPolicyConfig } from "../../policy/config";
import { mandatoryViolation, policyPacks } from "../../policy/packs";
import {
  apiHangRestart,
  COMPONENT,
  DEFAULT_MINIMUMS,
  FORMULAE,
  logRotation,
  minimumVersions,
  POLICIES,
  qemuOnly,
  smokeTest,
  supervised,
  typeOf,
} from "../../policy/rules";
import { olderVersion } from "../../provider/lib/colimaVersion";

// The values @pulumi/policy's deserializer makes of the engine's unknowns (its proxy.ts; marked
// @internal, so not in its typings): what a rule sees of a value a preview does not know yet.
const { unknownNumberValue, unknownObjectValue, unknownStringValue } = proxy as unknown as Record<string, string>;

const MACHINE = "urn:pulumi:mac::colima-pulse::colima-pulse:index:ColimaPulse::colima";
const urnOf = (type: string, name: string) => `urn:pulumi:mac::colima-pulse::colima-pulse:index:ColimaPulse$${type}::${name}`;
const DAEMON_PROPS = {
  profile: "default",
  prefix: "/opt/homebrew",
  logPath: "/var/log/colima-pulse/colima.log",
  apiHangSeconds: 120,
  versions: { colima: "0.10.3", lima: "1.2.1", qemu: "10.1.0" },
};

/** Runs a resource rule on one resource as the pack does; its violations' messages. */
function checkResource(
  policy: ResourceValidationPolicy,
  type: string,
  props: Record<string, unknown>,
  config: Record<string, unknown> = {},
): string[] {
  const messages: string[] = [];
  const args = {
    type: typeOf(type),
    props,
    urn: urnOf(typeOf(type), `colima-${type}`),
    name: `colima-${type}`,
    opts: {
      protect: false,
      ignoreChanges: [],
      aliases: [],
      customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
      additionalSecretOutputs: [],
    },
    stackTags: new Map(),
    getConfig: <T extends object>() => config as T,
  } as unknown as ResourceValidationArgs;
  const validate = [policy.validateResource ?? []].flat();
  for (const v of validate) void v(args, (message) => messages.push(message));
  return messages;
}

/** A resource of the stack, as a stack rule sees it (outputs), child of `parent`. */
function resource(type: string, name: string, props: Record<string, unknown>, parent = MACHINE): PolicyResource {
  const full = type === COMPONENT ? type : typeOf(type);
  return {
    type: full,
    name,
    urn: full === COMPONENT ? MACHINE : urnOf(full, name),
    props,
    opts: { parent } as PolicyResource["opts"],
    dependencies: [],
    propertyDependencies: {},
  } as unknown as PolicyResource;
}

/** A converged machine's resources, as components/colimaPulse.ts declares them. */
function machine(parent = MACHINE): PolicyResource[] {
  return [
    { ...resource(COMPONENT, "colima", {}), urn: parent, opts: {} as PolicyResource["opts"] },
    resource("HomebrewPackages", "colima-packages", {}, parent),
    resource("ColimaProfile", "colima-profile", { profile: "default", driver: "QEMU" }, parent),
    resource("LaunchDaemon", "colima-daemon", DAEMON_PROPS, parent),
    resource("LogRotation", "colima-log-rotation", { logPath: DAEMON_PROPS.logPath, count: 5, sizeMB: 10 }, parent),
    resource("HealthGate", "colima-health", { profile: "default", driver: "QEMU" }, parent),
    resource("SmokeContainer", "colima-smoke", { expectOutput: "Hello from Docker!" }, parent),
  ];
}

/** Runs a stack rule as the pack does; its violations (message and the resource named). */
function checkStack(policy: StackValidationPolicy, resources: PolicyResource[]): { message: string; urn?: string }[] {
  const found: { message: string; urn?: string }[] = [];
  void policy.validateStack(
    { resources, stackTags: new Map(), getConfig: <T extends object>() => ({}) as T } as unknown as Parameters<
      StackValidationPolicy["validateStack"]
    >[0],
    (message, urn) => found.push({ message, urn }),
  );
  return found;
}

describe("policy pack: the rules", () => {
  it("a converged machine passes every rule", () => {
    for (const p of POLICIES) {
      if ("validateStack" in p) assert.deepEqual(checkStack(p as StackValidationPolicy, machine()), [], p.name);
      else
        for (const type of ["HomebrewPackages", "ColimaProfile", "LaunchDaemon", "LogRotation", "HealthGate", "SmokeContainer"])
          assert.deepEqual(checkResource(p as ResourceValidationPolicy, type, type === "LaunchDaemon" ? DAEMON_PROPS : {}), [], p.name);
    }
  });

  it("each rule has a unique name and a description; every one is mandatory unless the fleet's config says advisory", () => {
    const names = POLICIES.map((p) => p.name);
    assert.deepEqual(names, [...new Set(names)]);
    assert.deepEqual(names, ["qemu-only", "api-hang-restart", "log-rotation", "minimum-versions", "smoke-test", "supervised"]);
    for (const p of POLICIES) {
      assert.ok(p.description.length > 20, p.name);
      assert.equal(p.enforcementLevel, undefined, `${p.name} takes the pack's level (mandatory)`);
    }
  });

  describe("api-hang-restart", () => {
    it("API_HANG_SECONDS=0 on the LaunchDaemon is refused, naming the setting, the value and what is allowed", () => {
      assert.deepEqual(checkResource(apiHangRestart, "LaunchDaemon", { ...DAEMON_PROPS, apiHangSeconds: 0 }), [
        "API_HANG_SECONDS = 0 (the LaunchDaemon's apiHangSeconds, profile default): the supervisor would never restart a VM whose Docker API hangs (a Mac waking from sleep). The fleet requires it on: set API_HANG_SECONDS from 10 to 86400 seconds where it is set (stacks/Pulumi.mac.yaml, or the layer `pulumi stack output settingSources` names), or remove it for the default 120",
      ]);
    });
    it("on (any number of seconds), or absent (the provider's default 120), passes", () => {
      assert.deepEqual(checkResource(apiHangRestart, "LaunchDaemon", { ...DAEMON_PROPS, apiHangSeconds: 10 }), []);
      const { apiHangSeconds: _, ...without } = DAEMON_PROPS;
      assert.deepEqual(checkResource(apiHangRestart, "LaunchDaemon", without), []);
    });
    it("a secret value and a secret profile are never printed", () => {
      const [message] = checkResource(apiHangRestart, "LaunchDaemon", {
        ...DAEMON_PROPS,
        apiHangSeconds: 0,
        secrets: ["apiHangSeconds", "profile"],
      });
      assert.match(message ?? "", /^API_HANG_SECONDS = \[secret\] \(the LaunchDaemon's apiHangSeconds, resource colima-LaunchDaemon\)/);
      assert.doesNotMatch(message ?? "", /default\)/);
    });
    it("a value not known yet (a preview) is skipped, not guessed", () => {
      assert.deepEqual(
        checkResource(apiHangRestart, "LaunchDaemon", unknownCheckingProxy({ ...DAEMON_PROPS, apiHangSeconds: unknownNumberValue })),
        [],
      );
    });
    it("other resources are not its business", () => {
      assert.deepEqual(checkResource(apiHangRestart, "HealthGate", { apiHangSeconds: 0 }), []);
    });
  });

  describe("minimum-versions", () => {
    it("the LaunchDaemon's colima, lima and qemu below the fleet's minimums are each refused, naming version, prefix, minimum and where it is set", () => {
      const messages = checkResource(minimumVersions, "LaunchDaemon", DAEMON_PROPS, { colima: "0.11.0", lima: "1.2.1", qemu: "10.2" });
      assert.deepEqual(messages, [
        'colima 0.10.3 under /opt/homebrew (profile default) is older than the fleet\'s minimum 0.11.0 (policy/config.json "minimum-versions"."colima"): `npm run upgrade` upgrades it with Homebrew; nothing was changed',
        'qemu 10.1.0 under /opt/homebrew (profile default) is older than the fleet\'s minimum 10.2 (policy/config.json "minimum-versions"."qemu"): `npm run upgrade` upgrades it with Homebrew; nothing was changed',
      ]);
    });
    it("compares numbers, not text, and ignores Homebrew's revision suffix", () => {
      const props = { ...DAEMON_PROPS, versions: { colima: "0.10.0_1", lima: "1.10.0", qemu: "10.1.0" } };
      assert.deepEqual(checkResource(minimumVersions, "LaunchDaemon", props, { colima: "0.10.0", lima: "1.9.0", qemu: "9.0.0" }), []);
      assert.equal(checkResource(minimumVersions, "LaunchDaemon", props, { colima: "0.10.1" }).length, 1);
    });
    it("docker's version comes from the smoke test's trigger (the text components/colimaPulse.ts makes of every formula)", () => {
      const trigger = "colima 0.10.3, lima 1.2.1, qemu 10.1.0, docker 28.2.2";
      assert.deepEqual(checkResource(minimumVersions, "SmokeContainer", { trigger }, { docker: "28.2.2" }), []);
      assert.deepEqual(checkResource(minimumVersions, "SmokeContainer", { trigger }, { docker: "29.0.0" }), [
        'docker 28.2.2 (resource colima-SmokeContainer) is older than the fleet\'s minimum 29.0.0 (policy/config.json "minimum-versions"."docker"): `npm run upgrade` upgrades it with Homebrew; nothing was changed',
      ]);
    });
    it("without config, the pack's defaults apply; they are its config schema's defaults", () => {
      const old = { ...DAEMON_PROPS, versions: { colima: "0.8.1", lima: "0.23.2", qemu: "8.2.1" } };
      assert.equal(checkResource(minimumVersions, "LaunchDaemon", old).length, 3);
      const schema = minimumVersions.configSchema?.properties as Record<string, { default: string }>;
      assert.deepEqual(Object.fromEntries(FORMULAE.map((f) => [f, schema[f]?.default])), DEFAULT_MINIMUMS);
    });
    it("versions not known yet (a new Mac's preview) are skipped", () => {
      const props = unknownCheckingProxy({ ...DAEMON_PROPS, versions: unknownObjectValue });
      assert.deepEqual(checkResource(minimumVersions, "LaunchDaemon", props, { qemu: "99" }), []);
      const smoke = unknownCheckingProxy({ trigger: unknownStringValue });
      assert.deepEqual(checkResource(minimumVersions, "SmokeContainer", smoke, { docker: "99" }), []);
    });
  });

  describe("log-rotation", () => {
    it("a LaunchDaemon with no newsyslog rule (LOG_ROTATE_COUNT=0) is refused, naming its log and the setting", () => {
      const found = checkStack(
        logRotation,
        machine().filter((r) => r.type !== typeOf("LogRotation")),
      );
      assert.deepEqual(found, [
        {
          message:
            'the supervisor\'s log "/var/log/colima-pulse/colima.log" (profile default) has no newsyslog rule: LOG_ROTATE_COUNT = 0 turns rotation off, and the log then grows until the disk is full. The fleet requires rotation: set LOG_ROTATE_COUNT from 1 to 99 where it is set (stacks/Pulumi.mac.yaml, or the layer `pulumi stack output settingSources` names), or remove it for the default 5',
          urn: urnOf(typeOf("LaunchDaemon"), "colima-daemon"),
        },
      ]);
    });
    it("another machine's rule, or a rule for another log, does not count; a rule that keeps 0 logs is refused", () => {
      const other = "urn:pulumi:mac::colima-pulse::colima-pulse:index:ColimaPulse::second";
      const mine = machine().filter((r) => r.type !== typeOf("LogRotation"));
      const theirs = machine(other).filter((r) => r.type === typeOf("LogRotation"));
      assert.equal(checkStack(logRotation, [...mine, ...theirs]).length, 1);
      const elsewhere = resource("LogRotation", "colima-log-rotation", { logPath: "/var/log/other.log", count: 5 });
      assert.equal(checkStack(logRotation, [...mine, elsewhere]).length, 1);
      const none = resource("LogRotation", "colima-log-rotation", { logPath: DAEMON_PROPS.logPath, count: 0 });
      assert.match(checkStack(logRotation, [...mine, none])[0]?.message ?? "", /keeps 0 logs/);
    });
  });

  describe("qemu-only", () => {
    it("a profile or health gate reporting VZ is refused, with the command that converts it", () => {
      const vz = "macOS Virtualization.Framework";
      const resources = machine().map((r) => (r.type === typeOf("ColimaProfile") ? { ...r, props: { ...r.props, driver: vz } } : r));
      assert.deepEqual(checkStack(qemuOnly, resources), [
        {
          message:
            "profile default runs under macOS Virtualization.Framework; the fleet runs QEMU only (vm type qemu, never vz). Colima fixes the vm type when a profile is created: `npm run reset` moves the profile to a backup and provisions it again under QEMU",
          urn: urnOf(typeOf("ColimaProfile"), "colima-profile"),
        },
      ]);
      const gate = machine().map((r) => (r.type === typeOf("HealthGate") ? { ...r, props: { ...r.props, driver: vz } } : r));
      assert.equal(checkStack(qemuOnly, gate).length, 1);
    });
    it("a driver not known yet, or empty (a profile gone), is not a violation", () => {
      const resources = machine().map((r) =>
        r.type === typeOf("ColimaProfile") ? { ...r, props: unknownCheckingProxy({ driver: unknownStringValue }) } : r,
      );
      assert.deepEqual(checkStack(qemuOnly, resources), []);
      const gone = machine().map((r) => (r.type === typeOf("HealthGate") ? { ...r, props: { driver: "" } } : r));
      assert.deepEqual(checkStack(qemuOnly, gone), []);
    });
  });

  describe("smoke-test", () => {
    it("a machine without its smoke test or its health gates is refused, naming which", () => {
      const noSmoke = checkStack(
        smokeTest,
        machine().filter((r) => r.type !== typeOf("SmokeContainer")),
      );
      assert.deepEqual(noSmoke, [
        {
          message:
            "machine colima has no smoke test (SmokeContainer): the fleet counts a Mac converged only after Docker answered steadily and ran a container; declare it as components/colimaPulse.ts does",
          urn: MACHINE,
        },
      ]);
      assert.match(
        checkStack(
          smokeTest,
          machine().filter((r) => r.type !== typeOf("HealthGate")),
        )[0]?.message ?? "",
        /no health gates \(HealthGate\)/,
      );
    });
    it("a smoke test that expects only white space is refused", () => {
      const blank = machine().map((r) => (r.type === typeOf("SmokeContainer") ? { ...r, props: { expectOutput: "  " } } : r));
      assert.match(checkStack(smokeTest, blank)[0]?.message ?? "", /expects only white space \(config smokeExpectOutput\)/);
    });
  });

  describe("supervised", () => {
    it("a profile with no LaunchDaemon of its machine is refused", () => {
      const found = checkStack(
        supervised,
        machine().filter((r) => r.type !== typeOf("LaunchDaemon")),
      );
      assert.deepEqual(found, [
        {
          message:
            "profile default has no LaunchDaemon: the fleet's VMs run supervised (restarts, the hung-API watch, a start at boot); declare it as components/colimaPulse.ts does",
          urn: urnOf(typeOf("ColimaProfile"), "colima-profile"),
        },
      ]);
    });
  });
});

describe("policy pack: the fleet's settings (policy/config.json)", () => {
  it("the shipped file is valid; every rule it names is mandatory unless it says advisory", () => {
    const config = readPolicyConfig();
    assert.deepEqual(Object.keys(config), ["minimum-versions"]);
    assert.equal((config["minimum-versions"] as { enforcementLevel: string }).enforcementLevel, "mandatory");
    assert.deepEqual(parsePolicyConfig('{"log-rotation": {"enforcementLevel": "advisory"}}', "f.json"), {
      "log-rotation": { enforcementLevel: "advisory" },
    });
  });

  it("the shipped minimums are no lower than the pack's defaults", () => {
    const shipped = JSON.parse(readFileSync(CONFIG_FILE, "utf8"))["minimum-versions"] as Record<string, string>;
    for (const f of FORMULAE) assert.equal(olderVersion(shipped[f] ?? "", DEFAULT_MINIMUMS[f]), false, `${f} ${shipped[f]}`);
  });

  it("every problem is named at once, with the file, the key, the value and what is allowed", () => {
    const text = JSON.stringify({
      "log-rotation": { enforcementLevel: "disabled" },
      "minimum-version": {},
      "minimum-versions": { qemu: "ten", podman: "1.0", enforcementLevel: "remediate" },
      "smoke-test": "advisory",
    });
    assert.throws(
      () => parsePolicyConfig(text, "policy/config.json"),
      (e: unknown) => {
        assert.ok(e instanceof PolicyConfigError);
        assert.equal(
          e.message,
          [
            "Invalid guardrail settings in policy/config.json (nothing was run):",
            ' - log-rotation.enforcementLevel = "disabled": must be mandatory or advisory; a guardrail cannot be turned off (make it advisory to have it warn only)',
            ' - "minimum-version": no such rule; the rules are qemu-only, api-hang-restart, log-rotation, minimum-versions, smoke-test, supervised',
            ' - minimum-versions.qemu = "ten": must be a version of dotted numbers such as "9.0.0"',
            ' - minimum-versions.podman = "1.0": unknown key; allowed: enforcementLevel, colima, lima, qemu, docker',
            ' - minimum-versions.enforcementLevel = "remediate": must be mandatory or advisory; a guardrail cannot be turned off (make it advisory to have it warn only)',
            ' - smoke-test = "advisory": must be an object such as {"enforcementLevel": "advisory"}',
          ].join("\n"),
        );
        return true;
      },
    );
    assert.throws(() => parsePolicyConfig("{", "c.json"), /Invalid guardrail settings in c\.json \(nothing was run\):\n - is not JSON: /);
    assert.throws(() => parsePolicyConfig("[]", "c.json"), /must be a JSON object of rule names/);
    assert.throws(() => readPolicyConfig("/nonexistent/config.json"), /\/nonexistent\/config\.json .*\n - cannot be read: ENOENT/);
  });
});

describe("policy pack: where it is", () => {
  it("is the executable policy/analyzer of the project the fleet runs", () => {
    assert.deepEqual(policyPacks("/work/checkout"), [join("/work/checkout", "policy", "analyzer")]);
  });

  it("a mandatory violation in the engine's events is one line naming the rule; a warning and other events are not", () => {
    const policyEvent = {
      message: "API_HANG_SECONDS = 0 (the LaunchDaemon's apiHangSeconds, profile default):\n  the supervisor would never restart",
      color: "never",
      policyName: "api-hang-restart",
      policyPackName: "colima-pulse",
      policyPackVersion: "0.1.0",
      policyPackVersionTag: "0.1.0",
      enforcementLevel: "mandatory" as const,
    };
    const event = { sequence: 1, timestamp: 0, policyEvent };
    assert.equal(
      mandatoryViolation(event),
      "policy api-hang-restart: API_HANG_SECONDS = 0 (the LaunchDaemon's apiHangSeconds, profile default): the supervisor would never restart",
    );
    assert.equal(mandatoryViolation({ ...event, policyEvent: { ...policyEvent, enforcementLevel: "warning" } }), undefined);
    assert.equal(
      mandatoryViolation({ sequence: 2, timestamp: 0, diagnosticEvent: { message: "x", color: "never", severity: "error" } }),
      undefined,
    );
  });
});
