// PowerSettings' pure parts (provider/powerSettings.ts): reading `pmset -g custom` in any order,
// what the POWER_* flags ask for, drift, unsupported settings, and the arguments that put values
// back per power source. The commands themselves run against the simulated pmset in
// test/e2e/power.e2e.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  diffPowerSettings,
  driftOf,
  managedValues,
  type PowerSettingsOutputs,
  parsePmsetCustom,
  powerValuesOf,
  restoreArgs,
  unsupportedKeys,
} from "../../provider/powerSettings";

// A laptop's `pmset -g custom`, in the order a real one printed it (CFDictionary's, not alphabetical).
const LAPTOP = `Battery Power:
 Sleep On Power Button 1
 lowpowermode         0
 standby              1
 ttyskeepawake        1
 hibernatemode        3
 powernap             1
 hibernatefile        /var/vm/sleepimage
 displaysleep         2
 womp                 0
 networkoversleep     0
 sleep                1
 tcpkeepalive         1
 lessbright           1
 halfdim              1
 disksleep            10
AC Power:
 Sleep On Power Button 1
 lowpowermode         0
 standby              1
 ttyskeepawake        1
 hibernatemode        3
 powernap             1
 hibernatefile        /var/vm/sleepimage
 displaysleep         10
 womp                 1
 networkoversleep     0
 sleep                1
 tcpkeepalive         1
 halfdim              1
 disksleep            10
`;

describe("PowerSettings (provider/powerSettings.ts)", () => {
  it("parses pmset -g custom by source, names with spaces included, in whatever order", () => {
    const table = parsePmsetCustom(LAPTOP);
    assert.deepEqual(Object.keys(table), ["Battery Power", "AC Power"]);
    assert.equal(table["Battery Power"]?.["Sleep On Power Button"], "1");
    assert.equal(table["AC Power"]?.hibernatefile, "/var/vm/sleepimage");
    assert.deepEqual(managedValues(table, ["sleep", "womp", "autorestart"]), {
      "Battery Power": { sleep: 1, womp: 0 },
      "AC Power": { sleep: 1, womp: 1 },
    });
    assert.throws(() => parsePmsetCustom(" sleep 1\n"), /neither a power source nor a setting/);
  });

  it("the POWER_* flags: each on adds its pmset value, off leaves it out", () => {
    assert.deepEqual(powerValuesOf({ POWER_AUTORESTART: true, POWER_NO_SLEEP: true, POWER_WAKE_ON_NETWORK: true }), {
      autorestart: 1,
      sleep: 0,
      womp: 1,
    });
    assert.deepEqual(powerValuesOf({ POWER_AUTORESTART: false, POWER_NO_SLEEP: false, POWER_WAKE_ON_NETWORK: true }), { womp: 1 });
    assert.deepEqual(powerValuesOf({ POWER_AUTORESTART: false, POWER_NO_SLEEP: false, POWER_WAKE_ON_NETWORK: false }), {});
  });

  it("a setting no source shows is unsupported, and never drift", () => {
    const table = parsePmsetCustom(LAPTOP);
    assert.deepEqual(unsupportedKeys(table, ["autorestart", "sleep"]), ["autorestart"]);
    const observed = managedValues(table, ["autorestart", "sleep"]);
    assert.deepEqual(driftOf(observed, { autorestart: 1, sleep: 0 }, ["autorestart"]), [
      "sleep is 1 on Battery Power, not 0",
      "sleep is 1 on AC Power, not 0",
    ]);
  });

  it("puts values back per source: -b for battery, -c for AC, -u for UPS; only the keys asked", () => {
    const previous = { "Battery Power": { womp: 0, sleep: 1 }, "AC Power": { womp: 1, sleep: 1 }, "UPS Power": { sleep: 5 } };
    assert.deepEqual(restoreArgs(previous, ["womp"]), ["-b", "womp", "0", "-c", "womp", "1"]);
    assert.deepEqual(restoreArgs(previous, ["sleep", "womp"]), [
      "-b",
      "sleep",
      "1",
      "womp",
      "0",
      "-c",
      "sleep",
      "1",
      "womp",
      "1",
      "-u",
      "sleep",
      "5",
    ]);
    assert.deepEqual(restoreArgs({}, ["womp"]), []);
  });

  it("diff: refreshed drift is an update saying what differs; the same values are no change; another Mac is a replacement", () => {
    const host = { root: "/", user: "ops" };
    const olds: PowerSettingsOutputs = {
      resourceName: "power",
      host,
      settings: { autorestart: 1 },
      previous: { "AC Power": { autorestart: 0 } },
      observed: { "AC Power": { autorestart: 0 } },
      unsupported: [],
    };
    const news = { resourceName: "power", host, settings: { autorestart: 1 } };
    const drift = diffPowerSettings(olds, news);
    assert.equal(drift.changes, true);
    assert.deepEqual(drift.reasons, ["observed changed (autorestart is 0 on AC Power, not 1 (pmset -g custom): set again)"]);
    assert.equal(diffPowerSettings({ ...olds, observed: { "AC Power": { autorestart: 1 } } }, news).changes, false);
    const moved = diffPowerSettings(
      { ...olds, observed: { "AC Power": { autorestart: 1 } } },
      { ...news, host: { root: "/other", user: "ops" } },
    );
    assert.deepEqual(moved.replaces, ["host"]);
    const dropped = diffPowerSettings(
      { ...olds, settings: { autorestart: 1, sleep: 0 }, observed: { "AC Power": { autorestart: 1, sleep: 0 } } },
      news,
    );
    assert.match(dropped.reasons[0] ?? "", /^settings: .* \(pmset sets autorestart 1; sleep put back as before\)$/);
  });
});
