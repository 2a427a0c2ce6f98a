// scripts/decide.ts, the one parser of npm run reset, restore and upgrade: what each command line
// asks for, what it refuses (and with which words), what it says and what it hands to the program
// (stacks/commandLineDecisions.ts). The commands themselves, run as an operator runs them under
// macOS's bash 3.2, are in test/scripts/macosShells.test.ts; with a simulated Mac behind them in
// test/e2e/adoption.e2e.test.ts, upgrade.e2e.test.ts and macLife.e2e.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  backupAnswer,
  boundStack,
  CommandLineError,
  confirmationProblem,
  type Decision,
  decisionEnv,
  decisionId,
  decisionLines,
  parseDecision,
  USAGE,
} from "../../scripts/decide";
import { checkDecisionStack, readResetDecision, readRestoreDecision, readUpgradeDecision } from "../../stacks/commandLineDecisions";

const decision = (d: Partial<Decision> & Pick<Decision, "command">): Decision => ({
  yes: false,
  backup: "move",
  from: "",
  upArgs: [],
  ...d,
});
const refusal = (command: Decision["command"], argv: string[]): string => {
  try {
    parseDecision(command, argv);
  } catch (e) {
    assert.ok(e instanceof CommandLineError, String(e));
    return e.message;
  }
  assert.fail(`${command} ${argv.join(" ")}: taken`);
};

describe("parseDecision: what a command line asks for", () => {
  it("--help or -h, wherever it comes before a refusal", () => {
    for (const command of ["reset", "restore", "upgrade"] as const) {
      assert.deepEqual(parseDecision(command, ["--help"]), { help: true });
      assert.deepEqual(parseDecision(command, ["--diff", "-h", "--bogus"]), { help: true });
    }
    assert.deepEqual(parseDecision("reset", ["--backup=prompt", "--help", "--backup=x"]), { help: true });
    assert.match(refusal("reset", ["--backup=x", "--help"]), /^--backup=x: not a backup mode/);
    assert.match(refusal("restore", ["/a", "/b", "--help"]), /^\/b: one backup folder per restore/);
  });

  it("reset: the backup mode (move by default); --yes and every other argument go on to pulumi up", () => {
    assert.deepEqual(parseDecision("reset", []), decision({ command: "reset" }));
    assert.deepEqual(
      parseDecision("reset", ["--backup=false", "-y", "--diff", "now"]),
      decision({ command: "reset", backup: "false", yes: true, upArgs: ["-y", "--diff", "now"] }),
    );
    assert.deepEqual(parseDecision("reset", ["--backup=prompt", "--backup=move"]), decision({ command: "reset", backup: "move" }));
    for (const bad of ["--backup", "--backup=", "--backup=delete", "--backups=move"])
      assert.equal(
        refusal("reset", [bad]),
        `${bad}: not a backup mode; use --backup=move (default), --backup=prompt or --backup=false (npm run reset -- --help)`,
      );
  });

  it("restore: one absolute backup folder; options go on to pulumi up, --backup too", () => {
    assert.deepEqual(
      parseDecision("restore", ["--diff", "/b/20260101T000000Z-default", "--yes", "--backup=move"]),
      decision({ command: "restore", from: "/b/20260101T000000Z-default", yes: true, upArgs: ["--diff", "--yes", "--backup=move"] }),
    );
    assert.equal(
      refusal("restore", ["--yes"]),
      "which backup? npm run restore -- <backup folder> (npm run fleet -- status lists them; --help)",
    );
    assert.equal(refusal("restore", ["backups/x", "--yes"]), "backups/x: the backup folder must be an absolute path on the Mac");
    assert.equal(refusal("restore", ["/a", "/b"]), "/b: one backup folder per restore (already given: /a)");
  });

  it("the preview cannot be skipped: what is applied is the plan it showed (pulumi up --strict)", () => {
    for (const command of ["reset", "restore", "upgrade"] as const)
      for (const skip of ["--skip-preview", "-f"])
        assert.equal(
          refusal(command, [...(command === "restore" ? ["/b/x"] : []), "--yes", skip]),
          `${skip}: npm run ${command} shows Pulumi's preview and applies exactly the plan it showed (pulumi up --strict), so the preview cannot be skipped; leave ${skip} out (--yes applies it without asking)`,
        );
  });

  it("upgrade: --yes, and the rest for pulumi up (a word too: pulumi up's check names it)", () => {
    assert.deepEqual(
      parseDecision("upgrade", ["--yes", "--backup=move", "x"]),
      decision({ command: "upgrade", yes: true, upArgs: ["--yes", "--backup=move", "x"] }),
    );
  });
});

describe("the decision around the parser", () => {
  it("without a terminal only --yes confirms, in each command's words", () => {
    assert.equal(confirmationProblem(decision({ command: "upgrade", yes: true }), false), undefined);
    assert.equal(confirmationProblem(decision({ command: "reset" }), true), undefined);
    assert.deepEqual(
      (["reset", "restore", "upgrade"] as const).map((command) => confirmationProblem(decision({ command }), false)),
      [
        "a full reset asks for confirmation on a terminal, and there is none: add --yes to confirm it here (the seed's --force-yes)",
        "a restore asks for confirmation on a terminal, and there is none: add --yes to confirm it here",
        "an upgrade asks for confirmation on a terminal, and there is none: add --yes to confirm it here",
      ],
    );
  });

  it("--backup=prompt takes m, M, move, d, D, delete (blanks around them too); nothing else", () => {
    assert.deepEqual(["m", "M", "move", " m\t", "d", "D", "delete"].map(backupAnswer), [
      "move",
      "move",
      "move",
      "move",
      "false",
      "false",
      "false",
    ]);
    for (const other of ["", "x", "mv", "yes", "false", "m d"]) assert.equal(backupAnswer(other), undefined, other);
  });

  it("what it says before Pulumi's preview", () => {
    assert.deepEqual(decisionLines(decision({ command: "reset", yes: true }), "work", "mac-1"), [
      "FULL RESET of Colima profile 'work' on stack 'mac-1' (backup: move)",
      "Pulumi's preview below shows the backup folder and what moves into it, then applies it without asking (--yes)",
    ]);
    assert.deepEqual(decisionLines(decision({ command: "reset", backup: "false" }), "work", "mac-1"), [
      "FULL RESET of Colima profile 'work' on stack 'mac-1' (backup: false)",
      "--backup=false: the profile's state will be DELETED without a backup",
    ]);
    assert.deepEqual(decisionLines(decision({ command: "restore", from: "/b/x" }), "default", "mac-1"), [
      "RESTORE of /b/x as Colima profile 'default' on stack 'mac-1'",
      "Pulumi's preview below shows what moves where, then asks",
    ]);
    assert.deepEqual(decisionLines(decision({ command: "upgrade" }), "", "mac-1"), [
      "UPGRADE: Pulumi's preview below shows what Homebrew will upgrade, then asks",
    ]);
  });

  it("hands the program a decision it takes: the id is this second in UTC", () => {
    const now = new Date("2026-03-04T05:06:07.890Z");
    const id = decisionId(now);
    assert.equal(id, "20260304T050607Z");
    const bound = { COLIMA_PULSE_DECISION_STACK: "colima-pulse/mac-1" };
    const reset = decisionEnv(decision({ command: "reset", backup: "false" }), "work", id, "colima-pulse/mac-1");
    assert.deepEqual(reset, { COLIMA_PULSE_FULL_RESET: "work", COLIMA_PULSE_BACKUP: "false", COLIMA_PULSE_RESET_ID: id, ...bound });
    checkDecisionStack(reset, "colima-pulse/mac-1");
    assert.throws(
      () => checkDecisionStack(reset, "colima-pulse/mac-2"),
      /made for stack colima-pulse\/mac-1, and this run is stack colima-pulse\/mac-2/,
    );
    assert.deepEqual(readResetDecision(reset, "work", "/backups", now), { id, backup: "false", folder: "" });
    const restore = decisionEnv(decision({ command: "restore", from: "/backups/20260101T000000Z-work" }), "work", id, "colima-pulse/mac-1");
    assert.deepEqual(restore, { COLIMA_PULSE_RESTORE: "/backups/20260101T000000Z-work", COLIMA_PULSE_RESTORE_ID: id, ...bound });
    assert.equal(readRestoreDecision(restore, "work", "/backups", (p) => p, now)?.id, id);
    const upgrade = decisionEnv(decision({ command: "upgrade" }), "", id, "colima-pulse/mac-1");
    assert.deepEqual(upgrade, { COLIMA_PULSE_UPGRADE_ID: id, ...bound });
    assert.equal(readUpgradeDecision(upgrade, now), id);
  });

  it("the program takes a decision only on the stack it names", () => {
    const id = "20261207T120000Z";
    // no decision: nothing to check, whatever else is set
    checkDecisionStack({ COLIMA_PULSE_DECISION_STACK: "colima-pulse/mac-9", COLIMA_PULSE_FULL_RESET: "" }, "colima-pulse/mac-1");
    for (const decision of [
      { COLIMA_PULSE_FULL_RESET: "default", COLIMA_PULSE_RESET_ID: id },
      { COLIMA_PULSE_BACKUP: "false" },
      { COLIMA_PULSE_RESTORE: "/b/20261207T110000Z-default", COLIMA_PULSE_RESTORE_ID: id },
      { COLIMA_PULSE_UPGRADE_ID: id },
    ]) {
      checkDecisionStack({ ...decision, COLIMA_PULSE_DECISION_STACK: "colima-pulse/mac-1" }, "colima-pulse/mac-1");
      assert.throws(() => checkDecisionStack(decision, "colima-pulse/mac-1"), {
        name: "Error",
        message:
          /COLIMA_PULSE_DECISION_STACK \(environment\) is not set: the decision \(.+\) names no stack, and this run is stack colima-pulse\/mac-1/,
      });
      assert.throws(() => checkDecisionStack({ ...decision, COLIMA_PULSE_DECISION_STACK: "colima-pulse/mac-2" }, "colima-pulse/mac-1"), {
        message:
          /= "colima-pulse\/mac-2": the decision \(.+\) was made for stack colima-pulse\/mac-2, and this run is stack colima-pulse\/mac-1/,
      });
    }
  });

  it("binds a decision to Pulumi.yaml's name and the stack's own name, as the program sees them", () => {
    assert.equal(boundStack("mac-1", "name: colima-pulse\ndescription: x\n"), "colima-pulse/mac-1");
    assert.equal(boundStack("acme/mac-1", "runtime: nodejs\nname: 'fleet'\n"), "fleet/mac-1");
  });

  it("each --help names every option the parser takes", () => {
    assert.match(USAGE.reset, /^npm run reset \[-- OPTIONS\]/);
    for (const option of ["--backup=move", "--backup=prompt", "--backup=false", "--yes", "--help"])
      assert.ok(USAGE.reset.includes(option), option);
    assert.match(USAGE.restore, /^npm run restore -- <backup folder> \[OPTIONS\]/);
    assert.match(USAGE.upgrade, /^npm run upgrade \[-- OPTIONS\]/);
    for (const usage of Object.values(USAGE)) {
      assert.match(usage, /\n {2}--yes +no confirmation prompt/);
      assert.match(usage, /\nAny other option is passed to `pulumi up` \(e\.g\. --diff\)\.\n/);
    }
  });
});
