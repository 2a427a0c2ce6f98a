// The fleet's guardrails: rules every Mac's preview and up must pass, checked by the Pulumi engine
// on the inputs of the dynamic resources (validateResource) and on the stack as it will be
// (validateStack). One rule per concept; each says why it exists. The pack that serves them is
// policy/index.ts; docs/OPERATIONS.md "Guardrails" is the operator's side.
//
// The resources are components/colimaPulse.ts's: dynamic resources whose type token is
// `pulumi-nodejs:dynamic/colima-pulse:<Type>` (provider/lib/byReference.ts), children of the
// component `colima-pulse:index:ColimaPulse`. The engine gives a resource rule the inputs after the
// provider's check (defaults filled in) and a stack rule each resource's outputs
// (pulumi/pulumi pkg/resource/deploy/step_generator.go analyzeAll, AnalyzeResources). A value not
// known yet (a preview of a Mac not converged before) is skipped quietly: the `up` checks it once
// it is known, before the resource that carries it changes anything.
import type { PolicyResource, ReportViolation, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { UnknownValueError } from "@pulumi/policy";
import { olderVersion } from "../provider/lib/colimaVersion";

/** The type token of a colima-pulse dynamic resource (provider/lib/byReference.ts). */
export const typeOf = (name: string) => `pulumi-nodejs:dynamic/colima-pulse:${name}`;
export const COMPONENT = "colima-pulse:index:ColimaPulse";
const PROFILE = typeOf("ColimaProfile");
const DAEMON = typeOf("LaunchDaemon");
const ROTATION = typeOf("LogRotation");
const GATE = typeOf("HealthGate");
const SMOKE = typeOf("SmokeContainer");

/** The formulae whose minimum version the fleet sets (policy/config.json `minimum-versions`). */
import { DEFAULT_MINIMUMS, FORMULAE, type Formula } from "./minimums";

export { DEFAULT_MINIMUMS, FORMULAE, type Formula };

const VERSION = "^[0-9]+(\\.[0-9]+)*$";

/** `read()`, or undefined when the engine does not know the value yet (a preview): @pulumi/policy's
 *  proxy throws UnknownValueError on reading an unknown value (its proxy.ts). */
export function known<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch (e) {
    if (e instanceof UnknownValueError) return undefined;
    throw e;
  }
}

/** A value as a message may show it: an input the resource lists as secret never is
 *  (components/colimaPulse.ts passes `secrets`, the inputs made from secret settings). */
function shown(props: Record<string, unknown>, input: string, value: unknown): string {
  return isSecret(props, input) ? "[secret]" : JSON.stringify(value);
}

function isSecret(props: Record<string, unknown>, input: string): boolean {
  const secrets = known(() => props.secrets);
  return Array.isArray(secrets) && secrets.includes(input);
}

/** The profile a resource serves, for messages ("profile default"); its resource name when the
 *  profile is secret or not known. */
function whose(r: { name: string; props: Record<string, unknown> }): string {
  const profile = known(() => r.props.profile);
  return typeof profile === "string" && !isSecret(r.props, "profile") ? `profile ${profile}` : `resource ${r.name}`;
}

/** Where a setting is set, for a message: the layer that sets it (stacks/config.ts), the stack's
 *  own file first; the stack's `settingSources` output names the layer. */
function whereSet(urn: string): string {
  const stack = /^urn:pulumi:([^:]+)::/.exec(urn)?.[1] ?? "<stack>";
  return `where it is set (stacks/Pulumi.${stack}.yaml, or the layer \`pulumi stack output settingSources\` names)`;
}

// QEMU only: Colima fixes the vm type when a profile is created, and colima-pulse's supervisor,
// health gates and sleep recovery are built for QEMU (docs/ARCHITECTURE.md). The program creates
// only QEMU profiles and refuses to adopt others; this holds the line for state that says
// otherwise (a refresh that read a VZ profile, a profile made by hand under the same name).
export const qemuOnly: StackValidationPolicy = {
  name: "qemu-only",
  description: "Every Colima profile runs under QEMU, never macOS Virtualization.Framework (VZ).",
  validateStack: (args, report: ReportViolation) => {
    for (const r of args.resources.filter((r) => r.type === PROFILE || r.type === GATE)) {
      const driver = known(() => r.props.driver);
      if (typeof driver !== "string" || driver === "" || driver === "QEMU") continue;
      report(
        `${whose(r)} runs under ${driver}; the fleet runs QEMU only (vm type qemu, never vz). Colima fixes the vm type when a profile is created: \`npm run reset\` moves the profile to a backup and provisions it again under QEMU`,
        r.urn,
      );
    }
  },
};

// The supervisor's hung-API restart: a Mac that sleeps can wake with the VM's Docker API silent
// while QEMU still runs, which launchd cannot see (provider/supervisor.sh). API_HANG_SECONDS=0 is a
// setting the program accepts (a Mac someone watches by hand); the fleet's Macs are not watched.
export const apiHangRestart: ResourceValidationPolicy = {
  name: "api-hang-restart",
  description: "The LaunchDaemon's supervisor restarts a VM whose Docker API hangs (API_HANG_SECONDS > 0).",
  validateResource: (args, report) => {
    if (args.type !== DAEMON) return;
    // Absent: the provider's default (120 s, provider/launchDaemon.ts), which is on.
    const seconds = known(() => args.props.apiHangSeconds);
    if (seconds !== 0) return;
    report(
      `API_HANG_SECONDS = ${shown(args.props, "apiHangSeconds", seconds)} (the LaunchDaemon's apiHangSeconds, ${whose(args)}): the supervisor would never restart a VM whose Docker API hangs (a Mac waking from sleep). The fleet requires it on: set API_HANG_SECONDS from 10 to 86400 seconds ${whereSet(args.urn)}, or remove it for the default 120`,
    );
  },
};

// Log rotation: the supervisor's log (colima's output with it) grows without end otherwise, and a
// full disk stops the VM. LOG_ROTATE_COUNT=0 (no newsyslog rule) is a setting the program accepts
// for an operator who rotates the log some other way; the fleet rotates it with newsyslog.
export const logRotation: StackValidationPolicy = {
  name: "log-rotation",
  description: "Every LaunchDaemon's log is rotated by newsyslog (LOG_ROTATE_COUNT > 0).",
  validateStack: (args, report) => {
    const rotations = args.resources.filter((r) => r.type === ROTATION);
    for (const daemon of args.resources.filter((r) => r.type === DAEMON)) {
      const logPath = known(() => daemon.props.logPath);
      const mine = rotations.filter((r) => sameParent(r, daemon));
      const rule = mine.find((r) => {
        const path = known(() => r.props.logPath);
        return path === undefined || logPath === undefined || path === logPath;
      });
      if (!rule) {
        report(
          `the supervisor's log ${logPath === undefined ? "" : `${shown(daemon.props, "logPath", logPath)} `}(${whose(daemon)}) has no newsyslog rule: LOG_ROTATE_COUNT = 0 turns rotation off, and the log then grows until the disk is full. The fleet requires rotation: set LOG_ROTATE_COUNT from 1 to 99 ${whereSet(daemon.urn)}, or remove it for the default 5`,
          daemon.urn,
        );
        continue;
      }
      const count = known(() => rule.props.count);
      if (count === 0)
        report(
          `the newsyslog rule of ${whose(daemon)} keeps 0 logs; the fleet requires LOG_ROTATE_COUNT from 1 to 99 ${whereSet(rule.urn)}`,
          rule.urn,
        );
    }
  },
};

/** Whether two resources are children of the same component (one ColimaPulse). */
function sameParent(a: PolicyResource, b: PolicyResource): boolean {
  return (a.parent?.urn ?? a.opts.parent) === (b.parent?.urn ?? b.opts.parent);
}

/** The installed versions a resource's inputs carry: the LaunchDaemon's `versions` (what the VM
 *  runs under: colima, lima, qemu) and the smoke test's `trigger`, the text
 *  components/colimaPulse.ts makes of every formula's version ("colima 0.10.3, …, docker 28.2.2"). */
export function versionsIn(type: string, props: Record<string, unknown>): Partial<Record<Formula, string>> {
  if (type === DAEMON) {
    const versions = known(() => props.versions);
    if (!versions || typeof versions !== "object") return {};
    const out: Partial<Record<Formula, string>> = {};
    for (const f of FORMULAE) {
      const v = known(() => (versions as Record<string, unknown>)[f]);
      if (typeof v === "string" && v !== "") out[f] = v;
    }
    return out;
  }
  if (type === SMOKE) {
    const trigger = known(() => props.trigger);
    const docker = typeof trigger === "string" ? /(?:^|, )docker ([^,\s]+)/.exec(trigger)?.[1] : undefined;
    return docker ? { docker } : {};
  }
  return {};
}

// Minimum versions: the fleet's floor for what it runs (a release with a known fault, a Docker
// API too old for the fleet's images), set once for every Mac in policy/config.json. Checked on
// the LaunchDaemon (before the VM is restarted under new versions) and on the smoke test (before
// Docker is trusted with containers).
export const minimumVersions: ResourceValidationPolicy = {
  name: "minimum-versions",
  description: "colima, lima, qemu and docker are at least the fleet's minimum versions (policy/config.json).",
  configSchema: {
    properties: Object.fromEntries(
      FORMULAE.map((f) => [
        f,
        { type: "string", pattern: VERSION, default: DEFAULT_MINIMUMS[f], description: `the oldest ${f} the fleet runs` },
      ]),
    ),
  },
  validateResource: (args, report) => {
    const minimums = { ...DEFAULT_MINIMUMS, ...args.getConfig<Partial<Record<Formula, string>>>() };
    const prefix = known(() => args.props.prefix);
    const under = typeof prefix === "string" ? ` under ${prefix}` : "";
    for (const [formula, installed] of Object.entries(versionsIn(args.type, args.props)) as [Formula, string][]) {
      const minimum = minimums[formula];
      if (!olderVersion(installed, minimum)) continue;
      report(
        `${formula} ${installed}${under} (${whose(args)}) is older than the fleet's minimum ${minimum} (policy/config.json "minimum-versions"."${formula}"): \`npm run upgrade\` upgrades it with Homebrew; nothing was changed`,
      );
    }
  },
};

// No smoke test or health gate left out: a Mac counts as converged only when Docker answered
// steadily (the gates) and ran a container (the smoke test). The program always declares both;
// this keeps a fork of the program, or a stack that targets around them, from reporting a Mac
// converged that never proved Docker works.
export const smokeTest: StackValidationPolicy = {
  name: "smoke-test",
  description: "Every colima-pulse machine has its health gates and its smoke test, and the smoke test expects some output.",
  validateStack: (args, report) => {
    for (const machine of args.resources.filter((r) => r.type === COMPONENT)) {
      const children = args.resources.filter((r) => (r.parent?.urn ?? r.opts.parent) === machine.urn);
      for (const [type, what] of [
        [GATE, "health gates (HealthGate)"],
        [SMOKE, "smoke test (SmokeContainer)"],
      ] as const) {
        if (!children.some((c) => c.type === type))
          report(
            `machine ${machine.name} has no ${what}: the fleet counts a Mac converged only after Docker answered steadily and ran a container; declare it as components/colimaPulse.ts does`,
            machine.urn,
          );
      }
      for (const smoke of children.filter((c) => c.type === SMOKE)) {
        const expect = known(() => smoke.props.expectOutput);
        if (typeof expect === "string" && expect.trim() === "")
          report(
            `the smoke test of machine ${machine.name} expects only white space (config smokeExpectOutput), so any container output passes it; set smokeExpectOutput to a line the smoke image prints`,
            smoke.urn,
          );
      }
    }
  },
};

// Supervision: the profile's VM runs under the system LaunchDaemon (restarts, the hung-API
// watch, boot without a login), never as a bare `colima start` that dies with its shell.
export const supervised: StackValidationPolicy = {
  name: "supervised",
  description: "Every Colima profile runs under colima-pulse's LaunchDaemon.",
  validateStack: (args, report) => {
    const daemons = args.resources.filter((r) => r.type === DAEMON);
    for (const profile of args.resources.filter((r) => r.type === PROFILE)) {
      if (daemons.some((d) => sameParent(d, profile))) continue;
      report(
        `${whose(profile)} has no LaunchDaemon: the fleet's VMs run supervised (restarts, the hung-API watch, a start at boot); declare it as components/colimaPulse.ts does`,
        profile.urn,
      );
    }
  },
};

/** Every rule, in the order the engine lists them. */
export const POLICIES = [qemuOnly, apiHangRestart, logRotation, minimumVersions, smokeTest, supervised];
