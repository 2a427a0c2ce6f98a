// The simulated pmset(1) against apple-oss-distributions/PowerManagement pmset/pmset.m and
// IOKitUser pwr_mgt.subproj/IOPMEnergyPrefs.c (README.md "pmset" cites each row): the ` %-20s %d`
// lines and headers of `-g`, `-g custom`, `-g cap`; settings as root only; bad values → usage;
// a setting the model does not support accepted and never shown; what was set persists.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { testServices } from "../helpers/services";
import { MacSimulator } from "./simulator";
import type { SimState } from "./tools/world";

const USAGE = "Usage: pmset <options>\nSee pmset(1) for details: 'man pmset'\n";
const dockerTarget = () => testServices().dockerHost.replace(/^unix:\/\//, "");

/** `-g custom`'s text as { source: { name: value } }, checking every line's ` %-20s %s` layout. */
function parseCustom(text: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  let source: Record<string, string> | undefined;
  for (const line of text.split("\n").slice(0, -1)) {
    if (/^\S.*:$/.test(line)) {
      source = {};
      out[line.slice(0, -1)] = source;
      continue;
    }
    // One space, the name left-justified to 20 (longer names push the value on), one space, the value.
    const m = /^ (.{20,}?) (\S+)$/.exec(line);
    assert.ok(m && source, `a setting line: ${JSON.stringify(line)}`);
    assert.ok((m[1] as string).length === 20 || !(m[1] as string).endsWith(" "), `padded to 20: ${JSON.stringify(line)}`);
    source[(m[1] as string).trimEnd()] = m[2] as string;
  }
  return out;
}

describe("pmset (tools/pmset.ts): a desktop", { concurrency: false }, () => {
  let sim: MacSimulator;
  let pmset: string;
  const custom = async () => {
    const r = await sim.run([pmset, "-g", "custom"]);
    assert.equal(r.code, 0, r.stderr);
    return parseCustom(r.stdout);
  };
  before(async () => {
    sim = await MacSimulator.create({ dockerTarget: dockerTarget() });
    pmset = sim.path("/usr/bin/pmset");
  });
  after(async () => sim?.dispose());

  it("-g custom: only `AC Power:`, macOS's defaults for Apple silicon, ` %-20s %d` lines in hash order, not alphabetical", async () => {
    const r = await sim.run([pmset, "-g", "custom"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^AC Power:\n/);
    assert.match(r.stdout, /\n autorestart {10}0\n/);
    assert.match(r.stdout, /\n womp {17}1\n/);
    assert.match(r.stdout, /\n sleep {16}1\n/);
    assert.match(r.stdout, /\n hibernatefile {8}\/var\/vm\/sleepimage\n/);
    // A key with no pmset name is shown by itself, longer than 20: one space before the value.
    assert.match(r.stdout, /\n Sleep On Power Button 1\n/);
    const settings = parseCustom(r.stdout);
    assert.deepEqual(Object.keys(settings), ["AC Power"]);
    const names = Object.keys(settings["AC Power"] ?? {});
    assert.deepEqual(
      [...names].sort(),
      [
        "Sleep On Power Button",
        "autorestart",
        "disksleep",
        "displaysleep",
        "hibernatefile",
        "hibernatemode",
        "networkoversleep",
        "powernap",
        "sleep",
        "standby",
        "tcpkeepalive",
        "ttyskeepawake",
        "womp",
      ].sort(),
    );
    assert.notDeepEqual(names, [...names].sort(), "CFDictionary order, not alphabetical");
    assert.equal(settings["AC Power"]?.displaysleep, "10");
    assert.equal(settings["AC Power"]?.disksleep, "10");
  });

  it("-g (live): `System-wide power settings:`, `Currently in use:`, then AC's settings; `-g disk` is `-g custom`", async () => {
    const live = await sim.run([pmset, "-g"]);
    assert.equal(live.code, 0, live.stderr);
    const ac = (await sim.run([pmset, "-g", "custom"])).stdout.replace(/^AC Power:\n/, "");
    assert.equal(live.stdout, `System-wide power settings:\nCurrently in use:\n${ac}`);
    assert.equal((await sim.run([pmset, "-g", "live"])).stdout, live.stdout);
    assert.equal((await sim.run([pmset, "-g", "disk"])).stdout, (await sim.run([pmset, "-g", "custom"])).stdout);
    const cap = await sim.run([pmset, "-g", "cap"]);
    // all_features[]'s order; networkoversleep and the power button have no entry there.
    assert.equal(
      cap.stdout,
      "Capabilities for AC Power:\n displaysleep\n disksleep\n sleep\n womp\n autorestart\n standby\n powernap\n ttyskeepawake\n hibernatemode\n hibernatefile\n tcpkeepalive\n",
    );
  });

  it("setting as a user other than root: stdout `'<argv[0]>' must be run as root...`, exit 1, nothing changed", async () => {
    const before = await custom();
    const r = await sim.run([pmset, "-a", "autorestart", "1"]);
    assert.deepEqual(r, { code: 1, stdout: `'${pmset}' must be run as root...\n`, stderr: "" });
    assert.deepEqual(await custom(), before);
  });

  it("bad input → the usage text on stdout, exit 1, nothing changed (as root, and before the root check as a user)", async () => {
    const before = await custom();
    for (const argv of [
      [],
      ["-a", "sleep", "-1"],
      ["-a", "womp", "yes"],
      ["-a", "sleep", "5m"],
      ["-a", "sleep", "08"],
      ["-a", "sleep", " "],
      ["-a", "sleep"],
      ["-a", "autorestart", "1", "bogus", "1"],
      ["-x", "sleep", "0"],
      ["-gg"],
    ])
      for (const user of ["root", "ops"]) {
        const r = await sim.run([pmset, ...argv], { user });
        assert.deepEqual(r, { code: 1, stdout: USAGE, stderr: "" }, `pmset ${argv.join(" ")} as ${user}`);
      }
    const unknownGetter = await sim.run([pmset, "-g", "nonsense"]);
    assert.deepEqual(unknownGetter, { code: 1, stdout: `Error: unhandled argument nonsense\n${USAGE}`, stderr: "" });
    assert.deepEqual(await custom(), before);
  });

  it("as root: settings print nothing and persist in state.json; on/off settings take any non-zero as 1; strtol's 0x and leading spaces", async () => {
    const r = await sim.run([pmset, "-a", "AutoRestart", "7", "sleep", "0", "womp", " 0x0"], { user: "root" });
    assert.deepEqual(r, { code: 0, stdout: "", stderr: "" });
    const ac = (await custom())["AC Power"];
    assert.deepEqual([ac?.autorestart, ac?.sleep, ac?.womp], ["1", "0", "0"]);
    const state = JSON.parse(readFileSync(sim.path("/.sim/state.json"), "utf8")) as SimState;
    assert.equal(state.power?.custom?.["AC Power"]?.["Automatic Restart On Power Loss"], 1);
    assert.equal(state.power?.custom?.["AC Power"]?.["System Sleep Timer"], 0);
    // Another pmset process, later, reads the same.
    assert.match((await sim.run([pmset, "-g"])).stdout, /\n autorestart {10}1\n/);
    // No flag: every power source the Mac has. -b on a desktop: no battery dict, nothing applied, still exit 0.
    assert.equal((await sim.run([pmset, "womp", "1"], { user: "root" })).code, 0);
    assert.equal((await custom())["AC Power"]?.womp, "1");
    assert.deepEqual(await sim.run([pmset, "-b", "womp", "0"], { user: "root" }), { code: 0, stdout: "", stderr: "" });
    assert.equal((await custom())["AC Power"]?.womp, "1");
  });

  it("a sleep timer shorter than display sleep: set, with pmset's consistency warning on stderr", async () => {
    const r = await sim.run([pmset, "-c", "sleep", "5"], { user: "root" });
    assert.equal(r.code, 0);
    assert.equal(r.stdout, "");
    assert.equal(
      r.stderr,
      'Warning: Idle sleep timings for "AC Power" may not behave as expected.\n- Display sleep should have a lower timeout than system sleep.\n',
    );
    assert.equal((await custom())["AC Power"]?.sleep, "5");
  });

  it("an argument pmset has that this simulator does not model is refused with a simulator: message", async () => {
    const r = await sim.run([pmset, "-a", "hibernatemode", "25"], { user: "root" });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^pmset: simulator: `pmset hibernatemode` is not simulated\n$/);
  });
});

describe("pmset (tools/pmset.ts): a laptop", { concurrency: false }, () => {
  let sim: MacSimulator;
  let pmset: string;
  before(async () => {
    sim = await MacSimulator.create({ dockerTarget: dockerTarget(), powerModel: "laptop" });
    pmset = sim.path("/usr/bin/pmset");
  });
  after(async () => sim?.dispose());

  it("-g custom: `Battery Power:` and `AC Power:`; no autorestart; lidwake, hibernatemode 3, womp 0 on battery; lessbright on battery only", async () => {
    const settings = parseCustom((await sim.run([pmset, "-g", "custom"])).stdout);
    assert.deepEqual(Object.keys(settings), ["Battery Power", "AC Power"]);
    for (const source of ["Battery Power", "AC Power"]) {
      assert.equal(settings[source]?.autorestart, undefined, source);
      assert.equal(settings[source]?.lidwake, "1", source);
      assert.equal(settings[source]?.hibernatemode, "3", source);
      assert.equal(settings[source]?.["Sleep On Power Button"], undefined, source);
    }
    assert.equal(settings["Battery Power"]?.womp, "0");
    assert.equal(settings["AC Power"]?.womp, "1");
    assert.equal(settings["Battery Power"]?.lessbright, "1");
    assert.equal(settings["AC Power"]?.lessbright, undefined);
  });

  it("autorestart: accepted as root (exit 0, no output) and written, but never shown by -g, -g custom or -g cap", async () => {
    const r = await sim.run([pmset, "-a", "autorestart", "1", "sleep", "0"], { user: "root" });
    assert.deepEqual(r, { code: 0, stdout: "", stderr: "" });
    const state = JSON.parse(readFileSync(sim.path("/.sim/state.json"), "utf8")) as SimState;
    assert.equal(state.power?.custom?.["AC Power"]?.["Automatic Restart On Power Loss"], 1, "written to the preferences");
    for (const argv of [["-g"], ["-g", "custom"], ["-g", "cap"]]) {
      const out = (await sim.run([pmset, ...argv])).stdout;
      assert.doesNotMatch(out, /autorestart/, `pmset ${argv.join(" ")}`);
    }
    const settings = parseCustom((await sim.run([pmset, "-g", "custom"])).stdout);
    assert.deepEqual([settings["Battery Power"]?.sleep, settings["AC Power"]?.sleep], ["0", "0"]);
    // -c: AC alone.
    await sim.run([pmset, "-c", "sleep", "1"], { user: "root" });
    const after = parseCustom((await sim.run([pmset, "-g", "custom"])).stdout);
    assert.deepEqual([after["Battery Power"]?.sleep, after["AC Power"]?.sleep], ["0", "1"]);
  });
});
