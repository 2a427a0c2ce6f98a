// The stale-state sweep (provider/lib/staleState.ts, provider/sweep.sh) run for real: its shell
// text under macOS's /bin/sh (bash 3.2 in POSIX mode: test/helpers/macosShells.ts) and under dash, on a profile's files in a temporary root, with a stand-in `ps` that knows a
// fixed table of processes. A file naming a gone PID, or a PID that is another process now, goes;
// one naming the live process it belongs to stays; nothing is ever signalled.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { promisify } from "node:util";
import type { Host } from "../../../provider/lib/host";
import type { Mac } from "../../../provider/lib/mac";
import { sweepShell, sweepStaleState } from "../../../provider/lib/staleState";
import { dash, macosShells } from "../../helpers/macosShells";

const run = promisify(execFile);
const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

// `ps -p PID [-o command=]` and `ps axo command=` over the table in <root>/ps-table (PID, a tab, the command).
const FAKE_PS = `#!/bin/sh
table="$(dirname "$0")/../ps-table"
if [ "$1" = axo ]; then cut -f2- "$table"; exit 0; fi
if [ "$1" = -p ]; then
  line=$(grep "^$2	" "$table") || exit 1
  if [ "$3" = -o ]; then printf '%s\\n' "\${line#*	}"; fi
  exit 0
fi
exit 2
`;

/** A Mac root with the profile's folders, /bin/sh, the stand-in ps and a table of processes. */
function macRoot(processes: Record<number, string>, sh: string) {
  const root = mkdtempSync(join(tmpdir(), "cpulse-stale-"));
  roots.push(root);
  const host: Host = { root, user: "ops" };
  const lima = join(root, "Users/ops/.colima/_lima");
  const dirs = { instance: join(lima, "colima-work"), disk: join(lima, "_disks/colima-work"), net: join(lima, "_networks/user-v2") };
  for (const d of [...Object.values(dirs), join(root, "bin"), join(root, "usr/bin")]) mkdirSync(d, { recursive: true });
  symlinkSync(sh, join(root, "bin/sh"));
  writeFileSync(join(root, "bin/ps"), FAKE_PS);
  chmodSync(join(root, "bin/ps"), 0o755);
  writeFileSync(
    join(root, "ps-table"),
    Object.entries(processes)
      .map(([pid, command]) => `${pid}\t${command}\n`)
      .join(""),
  );
  const calls: string[][] = [];
  const mac = {
    asUser: async (argv: string[]) => {
      calls.push(argv);
      const [file, ...args] = argv as [string, ...string[]];
      return { stdout: (await run(file, args)).stdout, stderr: "", exitCode: 0 };
    },
  } as unknown as Mac;
  const file = (path: string, text = "") => writeFileSync(path, text);
  return { root, host, dirs, mac, calls, file };
}

/** The cases, with `sh` as the Mac's /bin/sh. */
function sweepCases(sh: string): void {
  it("removes the files of gone processes, with their sockets, and says why", async () => {
    const m = macRoot({}, sh);
    const { instance, net } = m.dirs;
    m.file(`${instance}/ha.pid`, "4242\n");
    m.file(`${instance}/ha.sock`);
    m.file(`${instance}/qemu.pid`, "not-a-pid");
    m.file(`${net}/usernet_user-v2.pid`, "");
    for (const s of ["user-v2_qemu.sock", "user-v2_fd.sock", "user-v2_ep.sock", "other.sock"]) m.file(`${net}/${s}`);
    assert.deepEqual(await sweepStaleState(m.mac, m.host, "work"), [
      `removing stale ${instance}/ha.pid (PID 4242 is gone)`,
      `removing stale ${instance}/qemu.pid (PID ? is gone)`,
      `removing stale ${net}/usernet_user-v2.pid (PID ? is gone)`,
    ]);
    for (const gone of ["ha.pid", "ha.sock", "qemu.pid"]) assert.equal(existsSync(`${instance}/${gone}`), false, gone);
    for (const gone of ["usernet_user-v2.pid", "user-v2_qemu.sock", "user-v2_fd.sock", "user-v2_ep.sock"])
      assert.equal(existsSync(`${net}/${gone}`), false, gone);
    assert.equal(existsSync(`${net}/other.sock`), true);
  });

  it("keeps the files of the live processes they name", async () => {
    const m = macRoot({}, sh);
    const { instance, net } = m.dirs;
    writeFileSync(
      join(m.root, "ps-table"),
      [
        `101\t/opt/homebrew/bin/limactl hostagent --pidfile ${instance}/ha.pid --socket ${instance}/ha.sock colima-work`,
        `102\t/opt/homebrew/bin/qemu-system-aarch64 -name lima-colima-work -pidfile ${instance}/qemu.pid`,
        `103\t/opt/homebrew/bin/limactl usernet -p ${net}/usernet_user-v2.pid -e ${net}/user-v2_ep.sock`,
        "",
      ].join("\n"),
    );
    m.file(`${instance}/ha.pid`, "101");
    m.file(`${instance}/ha.sock`);
    m.file(`${instance}/qemu.pid`, "102\n");
    m.file(`${net}/usernet_user-v2.pid`, "103");
    m.file(`${net}/user-v2_qemu.sock`);
    assert.deepEqual(await sweepStaleState(m.mac, m.host, "work"), []);
    for (const kept of [
      `${instance}/ha.pid`,
      `${instance}/ha.sock`,
      `${instance}/qemu.pid`,
      `${net}/usernet_user-v2.pid`,
      `${net}/user-v2_qemu.sock`,
    ])
      assert.equal(existsSync(kept), true, kept);
  });

  it("a PID handed to another process after a power cut is not ours: the file goes, the process stays", async () => {
    const m = macRoot(
      {
        201: "/usr/sbin/cupsd -l",
        // The host agent of another profile, and a qemu of this instance without its pidfile argument.
        202: `/opt/homebrew/bin/limactl hostagent --pidfile /Users/ops/.colima/_lima/colima/ha.pid`,
        203: "/opt/homebrew/bin/qemu-system-aarch64 -name lima-colima-work",
      },
      sh,
    );
    const { instance } = m.dirs;
    m.file(`${instance}/ha.pid`, "202");
    m.file(`${instance}/qemu.pid`, "203");
    m.file(`${m.dirs.net}/usernet_user-v2.pid`, "201");
    assert.deepEqual(await sweepStaleState(m.mac, m.host, "work"), [
      `removing stale ${instance}/ha.pid (PID 202 is another process now)`,
      `removing stale ${instance}/qemu.pid (PID 203 is another process now)`,
      `removing stale ${m.dirs.net}/usernet_user-v2.pid (PID 201 is another process now)`,
    ]);
  });

  it("the data disk's lock goes when no host agent of its holder runs, and stays while one does", async () => {
    const m = macRoot({}, sh);
    const { instance, disk } = m.dirs;
    symlinkSync(instance, `${disk}/in_use_by`);
    assert.deepEqual(await sweepStaleState(m.mac, m.host, "work"), [
      `removing stale disk lock ${disk}/in_use_by (no host agent of ${instance} runs)`,
    ]);
    assert.equal(existsSync(`${disk}/in_use_by`), false);

    symlinkSync(instance, `${disk}/in_use_by`);
    writeFileSync(join(m.root, "ps-table"), `301\tlimactl hostagent --pidfile ${instance}/ha.pid colima-work\n`);
    assert.deepEqual(await sweepStaleState(m.mac, m.host, "work"), []);
    assert.equal(existsSync(`${disk}/in_use_by`), true);
  });

  it("nothing to sweep: nothing said", async () => {
    const m = macRoot({}, sh);
    assert.deepEqual(await sweepStaleState(m.mac, m.host, "work"), []);
  });

  it("runs as the Homebrew user under the Mac's /bin/sh, with the Mac's tools first on PATH", async () => {
    const m = macRoot({}, sh);
    await sweepStaleState(m.mac, m.host, "work");
    assert.equal(m.calls.length, 1);
    const [macSh, flag, script] = m.calls[0] as [string, string, string];
    assert.deepEqual([macSh, flag], [join(m.root, "bin/sh"), "-c"]);
    assert.equal(script, `PATH='${m.root}/usr/bin:${m.root}/bin':"$PATH"\nlog() { echo "$*"; }\n${sweepShell(m.host, "work")}sweep\n`);
  });
}

const mac = macosShells();
describe("sweepStaleState under macOS's /bin/sh (bash 3.2, POSIX mode)", { skip: "skip" in mac ? mac.skip : false }, () => {
  if (!("skip" in mac)) sweepCases(mac.sh);
});
describe("sweepStaleState under dash", () => sweepCases(dash()));

describe("sweepShell", () => {
  it("names the profile's instance, disk, network folders and the Mac's ps, quoted", () => {
    const text = sweepShell({ root: "/", user: "o'brien" }, "default");
    assert.equal(
      text.split("\n").slice(0, 4).join("\n"),
      [
        "SWEEP_INSTANCE='/Users/o'\\''brien/.colima/_lima/colima'",
        "SWEEP_DISK='/Users/o'\\''brien/.colima/_lima/_disks/colima'",
        "SWEEP_NET='/Users/o'\\''brien/.colima/_lima/_networks/user-v2'",
        "SWEEP_PS='/bin/ps'",
      ].join("\n"),
    );
    assert.match(text, /\nsweep\(\) \{\n/);
  });
});
