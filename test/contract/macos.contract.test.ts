// The contract: what colima-pulse relies on from the real macOS tools, as assertions that run
// against the simulator in CI and against a real Mac with
//   CONTRACT_TARGET=mac node --import tsx --test test/contract/macos.contract.test.ts
// (read-only; add CONTRACT_ALLOW_CHANGES=1 for the contracts that start a throwaway Colima
// profile and load a throwaway LaunchDaemon). A contract failing on a Mac means the simulator
// has drifted from reality: fix the simulator first. A contract the target cannot check (read-only,
// or the machine is not in the state it needs) is skipped with the reason; none passes unchecked.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { build, parse as parsePlist } from "plist";
import { topLevelYaml } from "../../provider/lib/adoption";
import { parseDfPk } from "../../provider/lib/disk";
import { colimaPaths, homebrewUserPath, isHostAgentOf, isVmOf, parseProcesses } from "../../provider/lib/host";
import { parseLs } from "../../provider/lib/logPath";
import { parsePmsetCustom } from "../../provider/powerSettings";
import { MAC_SSH_PATH } from "../helpers/sshd";
import { older } from "../simulator/tools/brew";
import { FLAG_SINCE } from "../simulator/tools/colima";
import { apfsDirectoryOrder } from "../simulator/tools/world";
import { brewBin, type ContractTarget, contractTarget } from "./target";

let t: ContractTarget;
before(async () => {
  t = await contractTarget();
  console.log(`contract target: ${t.name}${t.allowChanges ? "" : " (read-only: set CONTRACT_ALLOW_CHANGES=1 for the rest)"}`);
});
after(async () => {
  await t?.dispose();
});

const PROFILE = "cpulse-contract";
const LABEL = "com.colima-pulse.contract";
/** The formulae colima-pulse installs and asks `brew list --versions` about (provider/homebrewPackages.ts). */
const FORMULAE = ["colima", "lima", "qemu", "docker"];
/** The installed Colima's version (`colima version v0.10.3` or `colima version 0.10.3`). */
const installedColima = async () =>
  /^colima version v?(\d+\.\d+\.\d+)/.exec((await t.run([brewBin(t, "colima"), "version"])).stdout)?.[1] as string;
/** Why a contract that changes the machine is skipped on a read-only target. */
const readOnly = (what: string): string => `not checked on ${t.name}: read-only (CONTRACT_ALLOW_CHANGES=1 would ${what})`;

/** A string matched literally inside a RegExp. */
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
describe("read-only contracts", () => {
  it("sw_vers prints ProductName/ProductVersion/BuildVersion with tabs", async () => {
    const r = await t.run([t.path("/usr/bin/sw_vers")]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^ProductName:\t+macOS\nProductVersion:\t+\d+\.\d+(\.\d+)?\nBuildVersion:\t+\w+\n$/);
  });

  it("Homebrew's prefix follows the architecture", async () => {
    const arch = (await t.run([t.path("/usr/bin/uname"), "-m"])).stdout.trim();
    assert.ok(["arm64", "x86_64"].includes(arch), arch);
    const prefix = (await t.run([brewBin(t, "brew"), "--prefix"])).stdout.trim();
    assert.equal(prefix, t.path(arch === "arm64" ? "/opt/homebrew" : "/usr/local"));
  });

  it("brew list --versions: a `name version…` line per installed formula, sorted by name; exit 0 only when all are", async () => {
    const r = await t.run([brewBin(t, "brew"), "list", "--versions", ...FORMULAE]);
    const lines = r.stdout.split("\n");
    assert.equal(lines.pop(), "", "ends with a newline");
    for (const line of lines) assert.match(line, /^[a-z]+( \d+\.\d+(\.\d+)?\S*)+$/);
    const listed = lines.map((l) => l.split(" ")[0]);
    assert.ok(listed.includes("colima"), "colima is installed (the contracts need it)");
    assert.deepEqual(
      listed,
      [...FORMULAE].sort().filter((f) => listed.includes(f)),
      "only formulae asked about, sorted (cmd/list.rb: names.sort)",
    );
    assert.equal(r.code, listed.length === FORMULAE.length ? 0 : 1, r.stderr);
    for (const line of lines) {
      const [name, ...versions] = line.split(" ");
      const kegs = (await t.run([t.path("/bin/ls"), "-1", join(t.brewPrefix, "Cellar", name as string)])).stdout
        .split("\n")
        .filter(Boolean);
      assert.deepEqual([...versions].sort(), kegs.sort(), `${name}: every keg in Cellar/${name}, and only those`);
    }
  });

  it("opt/<formula> is a relative link to ../Cellar/<formula>/<version>: the version in use (colima version says it)", async () => {
    const listed = (await t.run([brewBin(t, "brew"), "list", "--versions", ...FORMULAE])).stdout;
    for (const line of listed.split("\n").filter(Boolean)) {
      const [name, ...versions] = line.split(" ");
      const link = (await t.run([t.path("/usr/bin/readlink"), join(t.brewPrefix, "opt", name as string)])).stdout.trim();
      const m = new RegExp(`^\\.\\./Cellar/${name}/([^/]+)$`).exec(link);
      assert.ok(m, `opt/${name} -> ${link}`);
      assert.ok(versions.includes(m[1] as string), `opt/${name}'s version ${m[1]} is a listed keg (${versions.join(" ")})`);
      if (name === "colima")
        assert.equal(
          (await t.run([brewBin(t, "colima"), "version"])).stdout.split("\n")[0]?.replace(/version v(?=\d)/, "version "),
          `colima version ${m[1]}`,
        );
    }
  });

  it("brew list --versions of a formula with several kegs lists them in APFS's directory order (the name hash), not by version", async (ctx) => {
    const listed = (await t.run([brewBin(t, "brew"), "list", "--versions"])).stdout.split("\n").filter(Boolean);
    const several = listed.map((l) => l.split(" ").slice(1)).filter((v) => v.length > 1);
    if (several.length === 0)
      return ctx.skip(
        `not checked on ${t.name}: no formula has two kegs (\`HOMEBREW_NO_INSTALL_CLEANUP=1 brew upgrade\` keeps the old one)`,
      );
    for (const versions of several) assert.deepEqual(versions, apfsDirectoryOrder(versions), listed.join("\n"));
  });

  it("brew list --versions of a formula that is not installed: exit 1, nothing printed", async (ctx) => {
    const installed = (await t.run([brewBin(t, "brew"), "list", "--versions", ...FORMULAE])).stdout;
    const absent = FORMULAE.find((f) => !new RegExp(`^${f} `, "m").test(installed));
    if (!absent)
      return ctx.skip(`not checked on ${t.name}: ${FORMULAE.join(", ")} are all installed, so no formula we ask about is absent`);
    const r = await t.run([brewBin(t, "brew"), "list", "--versions", absent]);
    assert.deepEqual([r.code, r.stdout], [1, ""], r.stderr);
  });

  it("launchctl print of an unknown service: exit 113, `Could not find service`", async () => {
    const r = await t.run([t.path("/bin/launchctl"), "print", `system/${LABEL}.absent`]);
    assert.equal(r.code, 113);
    assert.match(r.stderr, new RegExp(`Could not find service "${LABEL}\\.absent" in domain for system\\n$`));
  });

  it('launchctl print-disabled system lists `"label" => disabled|enabled` rows', async (ctx) => {
    const r = await t.run([t.path("/bin/launchctl"), "print-disabled", "system"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^disabled services = \{\n(\t"[^"]+" => (disabled|enabled)\n)*\}\n/);
    if (!/^\t"/m.test(r.stdout))
      return ctx.skip(`row format not checked on ${t.name}: the system domain has no overrides (the disable/enable contract makes one)`);
  });

  it("fdesetup status says whether FileVault is on", async () => {
    const r = await t.run([t.path("/usr/bin/fdesetup"), "status"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^FileVault is (On|Off)\./);
  });

  it("pmset -g custom: `<Source>:` lines and ` %-20s <value>` settings, AC Power among them, read without root", async () => {
    const r = await t.run([t.path("/usr/bin/pmset"), "-g", "custom"]);
    assert.equal(r.code, 0, r.stderr);
    const table = parsePmsetCustom(r.stdout);
    assert.ok(table["AC Power"], r.stdout);
    // What provider/powerSettings.ts manages and reads: sleep is always there; each value a number.
    assert.match(table["AC Power"]?.sleep ?? "", /^\d+$/, r.stdout);
    for (const key of ["autorestart", "womp"])
      if (table["AC Power"]?.[key] !== undefined) assert.match(table["AC Power"]?.[key] as string, /^[01]$/);
  });

  it("sudo -n without a password needed: runs the command, prints nothing of its own", async (ctx) => {
    const r = await t.run([t.path("/usr/bin/sudo"), "-n", "true"]);
    if (r.code !== 0 && r.stderr === "sudo: a password is required\n")
      return ctx.skip(
        `not checked on ${t.name}: sudo wants the operator's password now (no NOPASSWD rule, no \`sudo -v\` in this terminal)`,
      );
    assert.deepEqual(r, { code: 0, stdout: "", stderr: "" });
  });

  it("sudo -n when a password is needed: exit 1, `sudo: a password is required`", async (ctx) => {
    const sudo = [t.path("/usr/bin/sudo"), "-n", "true"];
    const r = t.runAsPasswordSudoer ? await t.runAsPasswordSudoer(sudo) : await t.run(sudo);
    if (!t.runAsPasswordSudoer && r.code === 0)
      return ctx.skip(`not checked on ${t.name}: sudo runs without a password for the operator (cached or NOPASSWD)`);
    assert.deepEqual(r, { code: 1, stdout: "", stderr: "sudo: a password is required\n" });
  });

  it("sudo -n -v with no terminal, for a user whose sudo asks a password: `a password is required`, even right after `sudo -v` on their terminal", async (ctx) => {
    // timestamp.c ts_init_key: a record is keyed on the terminal, or with none on the parent
    // process; timestamp_status: a record of another session is old. provider/lib/process.ts
    // starts every command in a session of its own, so no `sudo -v` reaches it.
    const validate = [t.path("/usr/bin/sudo"), "-n", "-v"];
    const refused = { code: 1, stdout: "", stderr: "sudo: a password is required\n" };
    if (t.passwordSudoerAfterSudoV) {
      const user = await t.passwordSudoerAfterSudoV();
      try {
        assert.deepEqual(await user.onTerminal(validate), { code: 0, stdout: "", stderr: "" }, "the terminal's own time stamp");
        assert.deepEqual(await user.withoutTerminal(validate), refused);
      } finally {
        user.close();
      }
      return;
    }
    const r = await t.runWithoutTerminal(validate);
    if (r.code === 0)
      return ctx.skip(`not checked on ${t.name}: sudo -v needs no password for the operator (every sudoers rule of theirs is NOPASSWD)`);
    assert.deepEqual(r, refused);
  });

  it("sudo -n -v with no terminal, for a user whose every rule is NOPASSWD: runs, prints nothing", async (ctx) => {
    const r = await t.runWithoutTerminal([t.path("/usr/bin/sudo"), "-n", "-v"]);
    if (r.code !== 0 && r.stderr === "sudo: a password is required\n")
      return ctx.skip(
        `not checked on ${t.name}: a sudoers rule of the operator's needs a password (sudo -v asks for it while any does: verifypw all)`,
      );
    assert.deepEqual(r, { code: 0, stdout: "", stderr: "" });
  });

  it('docker pull asks the credential helper the config names before the daemon: from docker 29, one not on PATH stops it (`error getting credentials - err: exec: "docker-credential-x": executable file not found in $PATH, out: ``\'), exit 1; before 29 it is ignored', async (ctx) => {
    // Docker Desktop's leftover `"credsStore": "desktop"` over SSH or in a LaunchDaemon (provider/
    // smokeContainer.ts smokeDockerConfig). Nothing reaches a daemon: the socket is not there.
    const link = await t.run([t.path("/usr/bin/readlink"), join(t.brewPrefix, "opt/docker")]);
    if (link.code !== 0) return ctx.skip(`not checked on ${t.name}: Homebrew's docker is not installed`);
    const version = link.stdout.trim().split("/").pop() ?? "";
    const dir = mkdtempSync(join(tmpdir(), "cpulse-contract-docker-"));
    writeFileSync(join(dir, "config.json"), '{"credsStore":"cpulse-contract-missing"}\n');
    const r = await t.run([brewBin(t, "docker"), "--config", dir, "--host", `unix://${dir}/none.sock`, "pull", "hello-world:latest"]);
    assert.equal(r.code, 1, r.stderr);
    if (Number.parseInt(version, 10) >= 29)
      assert.equal(
        r.stderr,
        'error getting credentials - err: exec: "docker-credential-cpulse-contract-missing": executable file not found in $PATH, out: ``\n',
      );
    else {
      assert.doesNotMatch(r.stderr, /error getting credentials/, `docker ${version}`);
      assert.match(r.stderr, /none\.sock/, "it went on to the daemon");
    }
  });

  it("kill(1): a PID that is not there is `No such process`; another user's process is `Operation not permitted`; exit 1", async () => {
    const gone = await t.run([t.path("/bin/kill"), "-TERM", "99999999"]);
    assert.deepEqual([gone.code, gone.stderr], [1, "kill: 99999999: No such process\n"]);
    // PID 1 (launchd on a Mac) is root's; the operator may not even ask with signal 0.
    const roots = await t.run([t.path("/bin/kill"), "-0", "1"]);
    assert.deepEqual([roots.code, roots.stderr], [1, "kill: 1: Operation not permitted\n"]);
  });

  it("colima finds Lima on PATH only: with macOS sshd's PATH, `dependency check failed for VM: lima not found`; with the Homebrew user's PATH, the profile's status", async () => {
    // The PATH the providers give every command run as the Homebrew user (provider/lib/mac.ts asUser).
    const userPath = homebrewUserPath({ root: t.path("/") }, t.brewPrefix);
    const status = [brewBin(t, "colima"), "status", "--profile", `${PROFILE}-absent`, "--json"];
    const bare = await t.run(status, { path: MAC_SSH_PATH });
    assert.deepEqual([bare.code, bare.stdout], [1, ""], bare.stderr);
    assert.match(
      bare.stderr,
      /level=fatal msg="Error: dependency check failed for VM: lima not found, run 'brew install lima' to install"\n$/,
    );
    const found = await t.run(status, { path: userPath });
    assert.deepEqual([found.code, found.stdout], [1, ""], found.stderr);
    assert.match(found.stderr, new RegExp(`level=fatal msg="colima \\[profile=${PROFILE}-absent\\] is not running"`));
  });

  it("sudo keeps the PATH it was run with (env_reset, no secure_path)", async (ctx) => {
    const path = `${MAC_SSH_PATH}:/nonexistent/colima-pulse-contract`;
    const r = await t.run([t.path("/usr/bin/env")], { root: true, path });
    if (r.code !== 0 && r.stderr === "sudo: a password is required\n")
      return ctx.skip(
        `not checked on ${t.name}: sudo wants the operator's password now (no NOPASSWD rule, no \`sudo -v\` in this terminal)`,
      );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      r.stdout.split("\n").filter((l) => l.startsWith("PATH=")),
      [`PATH=${path}`],
    );
  });

  it("over SSH a command gets PATH=/usr/bin:/bin:/usr/sbin:/sbin, and colima run by its full path there stops: lima not found", async (ctx) => {
    if (!t.overSsh) return ctx.skip(`not checked on ${t.name}: ${t.sshSkipped}`);
    const env = await t.overSsh([t.path("/usr/bin/env")]);
    assert.equal(env.code, 0, env.stderr);
    assert.deepEqual(
      env.stdout.split("\n").filter((l) => l.startsWith("PATH=")),
      [`PATH=${MAC_SSH_PATH}`],
      "sshd's _PATH_STDPATH, with nothing added by the login shell for a command (a ~/.zshenv of the operator's would show here)",
    );
    const status = await t.overSsh([brewBin(t, "colima"), "status", "--profile", `${PROFILE}-absent`, "--json"]);
    assert.equal(status.code, 1, status.stderr);
    assert.match(status.stderr, /msg="Error: dependency check failed for VM: lima not found, run 'brew install lima' to install"/);
  });

  it("colima version, and status of a profile that does not run", async () => {
    const colima = brewBin(t, "colima");
    assert.match((await t.run([colima, "version"])).stdout, /^colima version v?\d+\.\d+\.\d+/);
    const r = await t.run([colima, "status", "--profile", `${PROFILE}-absent`, "--json"]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "", "no JSON when not running");
    assert.match(r.stderr, new RegExp(`colima \\[profile=${PROFILE}-absent\\] is not running`));
  });

  it("a profile name loses one leading `colima-`: `colima-x` is profile x (config/profile.go#ProfileFromName)", async () => {
    const colima = brewBin(t, "colima");
    for (const name of [`colima-${PROFILE}-absent`, `${PROFILE}-absent`]) {
      const r = await t.run([colima, "status", "--profile", name, "--json"]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`colima \\[profile=${PROFILE}-absent\\] is not running`), name);
    }
  });

  it("colima list --json prints one JSON object per line", async (ctx) => {
    const r = await t.run([brewBin(t, "colima"), "list", "--json"]);
    assert.equal(r.code, 0);
    const lines = r.stdout.split("\n").filter(Boolean);
    if (lines.length === 0)
      return ctx.skip(`row format not checked on ${t.name}: no Colima profile exists (the QEMU profile contract lists one)`);
    for (const line of lines) assertListRow(line);
  });
});

describe("read-only contracts: output the product parses", () => {
  it("brew outdated --json=v2 <formulae>: `{formulae: [{name, installed_versions, current_version, …}], casks: []}`; exit 1 only when a named formula is outdated", async () => {
    // As provider/lib/survey.ts brewOutdated runs it: the installed (linked) formulae by name, no
    // auto-update. Homebrew/brew cmd/outdated.rb `run` (`JSON.pretty_generate({"formulae" =>
    // json_info(formulae), "casks" => json_info(casks)})`, `Homebrew.failed = args.named.present? &&
    // outdated.present?`), `json_info` (name: f.full_name, installed_versions: f.outdated_kegs'
    // versions, current_version: f.pkg_version), `outdated_formulae_casks` (`.sort`: by name).
    const linked: Record<string, string> = {};
    for (const f of FORMULAE) {
      const link = (await t.run([t.path("/usr/bin/readlink"), join(t.brewPrefix, "opt", f)])).stdout.trim();
      const version = new RegExp(`^\\.\\./Cellar/${f}/([^/]+)$`).exec(link)?.[1];
      if (version) linked[f] = version;
    }
    const asked = Object.keys(linked);
    assert.ok(asked.includes("colima"), "colima is installed (the contracts need it)");
    const r = await t.run([
      t.path("/usr/bin/env"),
      "HOMEBREW_NO_AUTO_UPDATE=1",
      "HOMEBREW_NO_ENV_HINTS=1",
      brewBin(t, "brew"),
      "outdated",
      "--json=v2",
      ...asked,
    ]);
    assert.ok(r.stdout.trim().startsWith("{"), `the JSON is on stdout (exit ${r.code}): ${r.stderr}`);
    const parsed = JSON.parse(r.stdout) as { formulae: Record<string, unknown>[]; casks: unknown[] };
    assert.deepEqual(Object.keys(parsed), ["formulae", "casks"]);
    assert.deepEqual(parsed.casks, [], "no cask was named");
    assert.ok(Array.isArray(parsed.formulae), r.stdout);
    const names = parsed.formulae.map((f) => f.name as string);
    assert.deepEqual(names, [...names].sort(), "sorted by name");
    for (const row of parsed.formulae) {
      const name = row.name as string;
      assert.ok(asked.includes(name), `${name}: a formula asked about (homebrew/core's full_name is the bare name)`);
      assert.equal(typeof row.current_version, "string", JSON.stringify(row));
      const installed = row.installed_versions as string[];
      assert.ok(Array.isArray(installed) && installed.length > 0, JSON.stringify(row));
      const kegs = (await t.run([t.path("/bin/ls"), "-1", join(t.brewPrefix, "Cellar", name)])).stdout.split("\n").filter(Boolean);
      for (const v of installed) assert.ok(kegs.includes(v), `${name} ${v} is a keg in Cellar/${name} (${kegs.join(" ")})`);
      assert.ok(installed.includes(linked[name] as string), `${name}: the linked ${linked[name]} is among the outdated kegs`);
      assert.ok(!installed.includes(row.current_version as string), `${name}: current_version ${row.current_version} is newer`);
    }
    assert.equal(r.code, names.length > 0 ? 1 : 0, r.stderr);
  });

  it("brew info --json=v2 <formulae>: `{formulae: [{name, versions: {stable}, …}], casks: []}`, stable being what brew install pours", async () => {
    // As provider/lib/versionDenylist.ts installVersions runs it (the preview of a converge that
    // installs). Homebrew/brew cmd/info.rb `print_json` (v2: `{"formulae" => formulae.map(&:to_hash),
    // "casks" => …}`, the named formulae in the order named), formula.rb `to_hash` (`"versions" =>
    // {"stable" => stable&.version&.to_s, …}`).
    const r = await t.run([
      t.path("/usr/bin/env"),
      "HOMEBREW_NO_AUTO_UPDATE=1",
      "HOMEBREW_NO_ENV_HINTS=1",
      brewBin(t, "brew"),
      "info",
      "--json=v2",
      ...FORMULAE,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const parsed = JSON.parse(r.stdout) as { formulae: { name: string; versions: { stable: unknown } }[]; casks: unknown[] };
    assert.deepEqual(
      parsed.formulae.map((f) => f.name),
      FORMULAE,
    );
    for (const f of parsed.formulae) assert.match(String(f.versions.stable), /^\d+(\.\d+)*(_\d+)?$/, f.name);
    assert.deepEqual(parsed.casks, []);
  });

  it("cp -c -R <folder> <new folder>: the folder made anew, each file cloned with its mode; -c with -X refused", async () => {
    // As provider/lib/upgradeClone.ts clones a profile before an upgrade, in one folder (one volume).
    // apple-oss-distributions/file_cmds cp/cp.c (`the -c and -X options may not be specified
    // together`; S_IFDIR: mkdir, then the mode), cp/utils.c copy_file (clonefile(2)).
    const dir = mkdtempSync(join(tmpdir(), "cpulse-contract-cp-"));
    try {
      mkdirSync(join(dir, "src/instance"), { recursive: true });
      chmodSync(join(dir, "src/instance"), 0o700);
      writeFileSync(join(dir, "src/instance/disk"), "data", { mode: 0o600 });
      const r = await t.run([t.path("/bin/cp"), "-c", "-R", join(dir, "src"), join(dir, "clone")]);
      assert.deepEqual([r.code, r.stderr], [0, ""]);
      assert.equal(readFileSync(join(dir, "clone/instance/disk"), "utf8"), "data");
      assert.equal(statSync(join(dir, "clone/instance")).mode & 0o777, 0o700);
      assert.equal(statSync(join(dir, "clone/instance/disk")).mode & 0o777, 0o600);
      const x = await t.run([t.path("/bin/cp"), "-c", "-X", join(dir, "src/instance/disk"), join(dir, "x")]);
      assert.deepEqual([x.code, x.stderr], [1, "cp: the -c and -X options may not be specified together\n"]);
      assert.equal(existsSync(join(dir, "x")), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("ps axo pid=,user=,stat=,command=: a `pid user stat command` line per process, every user's, the whole command line; a zombie's stat starts with Z", async () => {
    // apple-oss-distributions/adv_cmds ps/ps.c (`if (!isatty(STDOUT_FILENO)) termwidth =
    // UNLIMITED;`: piped, the command is never cut), ps/keyword.c (`user` LJUST|DSIZ: the whole
    // name), ps/print.c `state` (SZOMB → 'Z'), ps/fmt.c (arguments joined by spaces, strvisx
    // VIS_NL|VIS_CSTYLE); xcodescripts/install-ps.sh installs it root, 4755 (it reads every
    // process's arguments). provider/lib/host.ts parseProcesses reads the lines.
    const marker = `cpulse-contract-ps-${"x".repeat(300)}`;
    const script = "/bin/sleep 30; :";
    const long = spawn("/bin/sh", ["-c", script, marker], { detached: true, stdio: "ignore" });
    // The zombie: sh's `sleep 1` outlives the exec, and the exec'd sleep never waits for it.
    const zombieParent = spawn("/bin/sh", ["-c", "/bin/sleep 1 & echo $!; exec /bin/sleep 30"], {
      detached: true,
      stdio: ["ignore", "pipe", "ignore"],
    });
    try {
      const zombie = Number(await new Promise<string>((resolve) => zombieParent.stdout.once("data", (d: Buffer) => resolve(d.toString()))));
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const r = await t.run([t.path("/bin/ps"), "axo", "pid=,user=,stat=,command="]);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.split("\n");
      assert.equal(lines.pop(), "", "ends with a newline");
      const rows = lines.map((line) => {
        const m = /^\s*(\d+)\s+(\S+)\s+(\S+)\s+(.*)$/.exec(line);
        assert.ok(m, `parseProcesses's pattern: ${JSON.stringify(line)}`);
        return { pid: Number(m[1]), user: m[2] as string, stat: m[3] as string, command: m[4] as string };
      });
      assert.equal(new Set(rows.map((p) => p.pid)).size, rows.length, "one line per process");
      for (const p of rows) assert.match(p.stat, /^[A-Z]/, `pid ${p.pid}: stat ${p.stat} starts with the state letter`);
      const one = rows.find((p) => p.pid === 1);
      assert.ok(one && one.user === "root" && one.command.length > 0, `PID 1 is root's, with its command line: ${JSON.stringify(one)}`);
      const mine = rows.find((p) => p.pid === long.pid);
      assert.deepEqual(
        mine && { user: mine.user, command: mine.command },
        { user: userInfo().username, command: ["/bin/sh", "-c", script, marker].join(" ") },
        "the whole command line, arguments joined by spaces",
      );
      const z = rows.find((p) => p.pid === zombie);
      assert.ok(z, `the zombie ${zombie} is listed`);
      assert.match(z.stat, /^Z/);
      const parsed = parseProcesses(r.stdout);
      assert.equal(parsed.length, rows.filter((p) => !p.stat.startsWith("Z")).length, "parseProcesses keeps every live process");
      assert.ok(!parsed.some((p) => p.pid === zombie), "and leaves the zombie out");
      assert.ok(
        parsed.some((p) => p.pid === long.pid && p.command.endsWith(marker)),
        "parseProcesses returns the whole command",
      );
    } finally {
      // Each started in a group of its own (detached): the group goes, sh and its sleeps with it.
      for (const child of [long, zombieParent])
        try {
          if (child.pid) process.kill(-child.pid, "SIGKILL");
        } catch {
          // already gone
        }
    }
  });

  it("sw_vers -productVersion: one line, the dotted version the plain `sw_vers` shows", async () => {
    // provider/homebrewPackages.ts audit (`macosVersion`); apple-oss-distributions/system_cmds
    // has no sw_vers source: [obs] macOS 13+ (`sw_vers -productVersion` → `15.6`).
    const r = await t.run([t.path("/usr/bin/sw_vers"), "-productVersion"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\d+\.\d+(\.\d+)?\n$/);
    const plain = (await t.run([t.path("/usr/bin/sw_vers")])).stdout;
    assert.equal(/^ProductVersion:\t+(\S+)$/m.exec(plain)?.[1], r.stdout.trim());
  });

  it("ls -ldn: `<type><rwx x9>[@+] links uid gid …` with numeric ids; a link named is listed, not followed; / and /var/log are root's, writable by no one else", async () => {
    // provider/lib/logPath.ts reads every part of LOG_PATH this way (parseLs) before root touches
    // it: ls(1) "The Long Format" (-n numeric ids; with -d or -l a link named is listed itself),
    // readlink(1). On a Mac /var is root's link to private/var (hier(7)); the simulator's is a folder.
    const ls = async (p: string) => {
      const r = await t.run([t.path("/bin/ls"), "-ldn", p]);
      assert.equal(r.code, 0, r.stderr);
      const entry = parseLs(r.stdout);
      assert.ok(entry, `ls -ldn ${p}: ${r.stdout}`);
      return entry;
    };
    for (const folder of ["/", "/var/log"]) {
      const e = await ls(t.path(folder));
      assert.deepEqual([e.type, e.uid, e.perms[4], e.perms[7]], ["d", 0, "-", "-"], `${folder}: ${JSON.stringify(e)}`);
    }
    const colima = join(t.brewPrefix, "opt/colima");
    const link = await ls(colima);
    assert.equal(link.type, "l", `${colima} listed as a link`);
    assert.match((await t.run([t.path("/usr/bin/readlink"), colima])).stdout, /^\.\.\/Cellar\/colima\/[^/\n]+\n$/);
    // Every column provider/lib/machineLock.ts parseEntry and provider/lib/backups.ts entryOf read,
    // of a file and a folder of the operator's own: apple-oss-distributions/file_cmds ls/print.c
    // printlong (strmode's 10 characters, then `@` for extended attributes or `+` for an ACL, the
    // link count, with -n the numeric uid and gid, then the size in bytes).
    const dir = mkdtempSync(join(tmpdir(), "cpulse-contract-"));
    try {
      const file = join(dir, "owner.json");
      writeFileSync(file, "12345");
      chmodSync(file, 0o640);
      const r = await t.run([t.path("/bin/ls"), "-ldn", file]);
      assert.equal(r.code, 0, r.stderr);
      const s = statSync(file);
      const columns = /^([-dlpscbw])([-rwxsStT]{9})([@+.]?)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(r.stdout);
      assert.ok(columns, `machineLock's pattern: ${JSON.stringify(r.stdout)}`);
      assert.deepEqual(columns.slice(1, 3).concat(columns.slice(4, 8).map(Number) as never[]), ["-", "rw-r-----", 1, s.uid, s.gid, 5]);
      assert.ok(r.stdout.trimEnd().endsWith(` ${file}`), "the path last");
      assert.deepEqual(parseLs(r.stdout), { type: "-", perms: "rw-r-----", acl: false, links: 1, uid: s.uid, gid: s.gid });
      chmodSync(dir, 0o755);
      const folder = parseLs((await t.run([t.path("/bin/ls"), "-ldn", dir])).stdout);
      assert.deepEqual(folder && [folder.type, folder.perms, folder.uid], ["d", "rwxr-xr-x", statSync(dir).uid]);
      const absent = await t.run([t.path("/bin/ls"), "-ldn", join(dir, "absent")]);
      assert.deepEqual([absent.code !== 0, absent.stdout], [true, ""], "absent: nothing on stdout, exit non-zero (`|| echo absent`)");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("sysctl -n hw.memsize: the bytes of memory, a bare decimal integer", async () => {
    // provider/homebrewPackages.ts audit (`Number(...) / 1024 ** 3` → hostMemoryGiB);
    // apple-oss-distributions/system_cmds sysctl/sysctl.c (`-n`: the value without its name; a
    // 64-bit integer printed in decimal).
    const r = await t.run([t.path("/usr/sbin/sysctl"), "-n", "hw.memsize"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\d+\n$/);
    const bytes = Number(r.stdout.trim());
    assert.ok(Number.isSafeInteger(bytes) && bytes >= 1024 ** 3, `${bytes} bytes: at least 1 GiB`);
  });

  it("df -Pk <home>: the POSIX header with 1024-blocks and one row parseDfPk reads; df -k keeps the inode columns; a path not there: `df: <path>: No such file or directory`, exit 1", async () => {
    // provider/lib/disk.ts colimaVolumeSpace; apple-oss-distributions/file_cmds df/df.c (unix2003:
    // iflag on by default, -P off; -k BLOCKSIZE=1024; `xo_warn("%s", *argv)` for a path stat fails on).
    const r = await t.run([t.path("/bin/df"), "-Pk", t.home]);
    assert.equal(r.code, 0, r.stderr);
    const space = parseDfPk(r.stdout);
    assert.match(space.filesystem, /^\/dev\/disk\d+s\d+(s\d+)?$/);
    assert.ok(space.sizeBytes > 0 && space.freeBytes > 0 && space.freeBytes <= space.sizeBytes, JSON.stringify(space));
    const inodes = await t.run([t.path("/bin/df"), "-k", t.home]);
    assert.match(inodes.stdout, /^Filesystem +1024-blocks +Used +Available +Capacity +iused +ifree +%iused +Mounted on\n/);
    const missing = join(t.home, `cpulse-contract-absent-${randomBytes(4).toString("hex")}`);
    const absent = await t.run([t.path("/bin/df"), "-Pk", missing]);
    assert.deepEqual([absent.code, absent.stdout, absent.stderr], [1, "", `df: ${missing}: No such file or directory\n`]);
  });

  it("id: `-un` the user's name; `-u <user>` the uid (`0` for root), an unknown user exit 1 `no such user`; `-G`/`-Gn <user>` the same groups in one order, the primary first", async () => {
    // apple-oss-distributions/shell_cmds id/id.c: `who` (errx(1, "%s: no such user")), the
    // uflag/gflag branches, `group` (getgrouplist_2(pw_name, pw_gid): the primary group first; -n
    // prints each gid's name, or the number when it has none). Read by provider/lib/mac.ts
    // currentUser (`id -un`), provider/homebrewPackages.ts audit and stacks/index.ts (`id -u
    // <user>`), provider/dockerAccess.ts memberGid (`id -G`, `id -Gn`, paired by position).
    const id = t.path("/usr/bin/id");
    const un = await t.run([id, "-un"]);
    assert.equal(un.code, 0, un.stderr);
    assert.match(un.stdout, /^[^\s:]+\n$/);
    const user = un.stdout.trim();
    const uid = await t.run([id, "-u", user]);
    assert.equal(uid.code, 0, uid.stderr);
    assert.match(uid.stdout, /^\d+\n$/);
    assert.notEqual(uid.stdout, "0\n", "the operator is not root");
    assert.deepEqual(await t.run([id, "-u", "root"]), { code: 0, stdout: "0\n", stderr: "" });
    const unknown = "cpulse-contract-nobody";
    assert.deepEqual(await t.run([id, "-u", unknown]), { code: 1, stdout: "", stderr: `id: ${unknown}: no such user\n` });
    const [gids, names, primary] = await Promise.all([t.run([id, "-G", user]), t.run([id, "-Gn", user]), t.run([id, "-g", user])]);
    assert.deepEqual([gids.code, names.code, primary.code], [0, 0, 0], gids.stderr + names.stderr);
    assert.match(gids.stdout, /^\d+( \d+)*\n$/);
    const g = gids.stdout.trim().split(" ");
    const n = names.stdout.trim().split(" ");
    assert.equal(n.length, g.length, `${gids.stdout}${names.stdout}`);
    assert.equal(g[0], primary.stdout.trim(), "the primary group first");
    // macOS's local groups, with their fixed gids: where a name is listed, its gid is at its place.
    const known: Record<string, string> = { staff: "20", everyone: "12", admin: "80", wheel: "0" };
    const checked = n.filter((name) => known[name] !== undefined);
    assert.ok(checked.length > 0, `a group of known gid among ${names.stdout}`);
    for (const name of checked) assert.equal(g[n.indexOf(name)], known[name], `${name} at the same place in -G and -Gn`);
  });

  it("route -n get default: an `interface:` line while there is a default route, exit 0", async (ctx) => {
    // provider/supervisor.sh network_ready (`grep -q 'interface:'`); apple-oss-distributions/
    // network_cmds route.tproj/route.c print_getmsg (`  interface: %.*s`), newroute (exit 0 after
    // a get, with a route or without).
    const r = await t.run([t.path("/sbin/route"), "-n", "get", "default"]);
    assert.equal(r.code, 0, r.stderr);
    if (!/interface:/.test(r.stdout))
      return ctx.skip(`not checked on ${t.name}: this machine has no default route now (${r.stderr.trim()})`);
    assert.match(r.stdout, /^ {2}interface: \S+$/m);
  });

  it("stat is BSD's: `-f '%u %Lp'` the owner's uid and the permission bits in octal, `%Su` the owner's name, `-L` follows a link; GNU's `-c` is `illegal option -- c` + usage, exit 1", async () => {
    // apple-oss-distributions/file_cmds stat/stat.c: getopt's optstring `f:FlLnqrst:x` (BSD getopt:
    // `illegal option -- c`, then usage() → `usage: stat [-FLnq] [-f format | -l | -r | -s | -x]
    // [-t timefmt] [file ...]`, exit 1); format1: `%u` st_uid (unsigned), `%Su` user_from_uid,
    // `%p` st_mode in octal, `L` its low piece (`data &= 0777`), `%Sp` strmode, `%N` the name as
    // given, `%HT` the file type's long name; `-L` stat(2) instead of lstat(2). Read by
    // provider/lib/launchd.ts explainBootstrapFailure (`-f '%u %Lp'`) and the README's
    // `stat -f %Su "$(brew --repository)"`.
    const stat = t.path("/usr/bin/stat");
    const dir = mkdtempSync(join(tmpdir(), "cpulse-contract-stat-"));
    const file = join(dir, "plist");
    const link = join(dir, "link");
    writeFileSync(file, "<plist/>\n", { mode: 0o640 });
    symlinkSync(file, link);
    try {
      const st = statSync(file);
      assert.deepEqual(await t.run([stat, "-f", "%u %Lp", file]), { code: 0, stdout: `${st.uid} 640\n`, stderr: "" });
      assert.deepEqual(await t.run([stat, "-f", "%p %Sp %N", file]), { code: 0, stdout: `100640 -rw-r----- ${file}\n`, stderr: "" });
      assert.deepEqual(await t.run([stat, "-f", "%HT", link]), { code: 0, stdout: "Symbolic Link\n", stderr: "" });
      assert.deepEqual(await t.run([stat, "-L", "-f", "%HT %Lp", link]), { code: 0, stdout: "Regular File 640\n", stderr: "" });
      const user = (await t.run([t.path("/usr/bin/id"), "-un"])).stdout.trim();
      assert.deepEqual(await t.run([stat, "-f", "%Su", t.home]), { code: 0, stdout: `${user}\n`, stderr: "" });
      assert.deepEqual(await t.run([stat, "-c", "%u %a", file]), {
        code: 1,
        stdout: "",
        stderr: "stat: illegal option -- c\nusage: stat [-FLnq] [-f format | -l | -r | -s | -x] [-t timefmt] [file ...]\n",
      });
      const gone = await t.run([stat, "-f", "%u", join(dir, "absent")]);
      assert.deepEqual(gone, { code: 1, stdout: "", stderr: `stat: ${join(dir, "absent")}: stat: No such file or directory\n` });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the colima keg's homebrew.mxcl.colima.plist runs `<prefix>/opt/colima/bin/colima start -f` (what ps shows for brew services' job)", async () => {
    // Homebrew/brew formula_installer.rb#install_service writes service.rb#to_plist into the keg
    // (formula.rb#launchd_service_path: `<keg>/homebrew.mxcl.<name>.plist`) at every install;
    // services/cli.rb#install_service_file copies it, as it is, into the domain's folder. homebrew-core
    // Formula/c/colima.rb: `service do run [opt_bin/"colima", "start", "-f"]`. provider/lib/survey.ts
    // brewJobsOf knows brew services' colima in `ps` by that command line.
    const plistPath = join(t.brewPrefix, "opt/colima/homebrew.mxcl.colima.plist");
    const r = await t.run([t.path("/bin/cat"), plistPath]);
    assert.equal(r.code, 0, `${plistPath}: ${r.stderr}`);
    const service = parsePlist(r.stdout) as Record<string, unknown>;
    assert.equal(service.Label, "homebrew.mxcl.colima");
    assert.deepEqual(service.ProgramArguments, [join(t.brewPrefix, "opt/colima/bin/colima"), "start", "-f"]);
    assert.deepEqual(service.KeepAlive, { SuccessfulExit: true });
    // launchd runs ProgramArguments as the process's argv: `ps`'s command line is them joined by spaces.
    assert.ok(
      `${(service.ProgramArguments as string[]).join(" ")}`.endsWith(`${t.brewPrefix}/opt/colima/bin/colima start -f`),
      "the suffix brewJobsOf matches",
    );
  });

  it("ps shows launchd's `/bin/sh <script>` as that command line; `ps -p <pid> -o command=` a live PID's command line, exit 0; a gone PID: nothing, exit 1", async () => {
    // apple-oss-distributions/adv_cmds ps/ps.c: `-p` selects by PID; with no process kept,
    // `printheader(); if (nkept == 0) exit(1);` (the `command=` header is empty, so nothing is
    // printed); piped, the width is unlimited (`if (!isatty(STDOUT_FILENO)) termwidth = UNLIMITED`),
    // ps/print.c `command` prints the arguments joined by spaces. Read by provider/lib/supervisor.ts
    // readSupervisor (`/bin/sh <script>`, the LaunchDaemon's ProgramArguments) and provider/sweep.sh
    // (`ps -p <pid> -o command=`, `ps -p <pid>`'s exit status, `ps axo command=`).
    const ps = t.path("/bin/ps");
    const dir = mkdtempSync(join(tmpdir(), "cpulse-contract-ps-"));
    const script = join(dir, "supervisor.sh");
    writeFileSync(script, "/bin/sleep 30\n", { mode: 0o755 });
    const sh = spawn("/bin/sh", [script], { detached: true, stdio: "ignore" });
    try {
      const pid = sh.pid as number;
      const rows = (await t.run([ps, "axo", "pid=,command="])).stdout.split("\n").map((l) => /^\s*(\d+) (.*)$/.exec(l));
      assert.deepEqual(
        rows.filter((m) => m && Number(m[1]) === pid).map((m) => m?.[2]),
        [`/bin/sh ${script}`],
      );
      assert.ok(
        (await t.run([ps, "axo", "command="])).stdout.split("\n").includes(`/bin/sh ${script}`),
        "`ps axo command=`: the same line, alone",
      );
      assert.deepEqual(await t.run([ps, "-p", String(pid), "-o", "command="]), { code: 0, stdout: `/bin/sh ${script}\n`, stderr: "" });
      assert.equal((await t.run([ps, "-p", String(pid)])).code, 0);
      process.kill(-pid, "SIGKILL");
      await new Promise((resolve) => sh.once("exit", resolve));
      assert.deepEqual(await t.run([ps, "-p", String(pid), "-o", "command="]), { code: 1, stdout: "", stderr: "" });
      const plain = await t.run([ps, "-p", String(pid)]);
      assert.equal(plain.code, 1, "a gone PID: exit 1");
      assert.match(plain.stdout, /^\s*PID\s+TTY\s+TIME\s+CMD\n$/, "the header alone");
    } finally {
      try {
        process.kill(-(sh.pid as number), "SIGKILL");
      } catch {
        // already gone
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("read-only contracts: POSIX tools whose output is read", () => {
  // Each makes only a temp folder of its own (removed after), so it runs on a Mac without
  // CONTRACT_ALLOW_CHANGES. On the simulator these tools are this machine's GNU ones, linked
  // (test/simulator/README.md, "Paths"): the contracts say what both must print.
  const scratch = () => mkdtempSync(join(tmpdir(), "cpulse-contract-"));

  it("du -sk <dir>: one line `<KiB>\\t<dir>`, the KiB a whole number (what parseInt reads)", async () => {
    // provider/lib/mac.ts diskUsage: Number.parseInt of the output, × 1024. apple-oss-distributions/
    // file_cmds du/du.c (`-k`: blocksize 1024; the total `printf("%jd\t%s\n", howmany(blocks ×
    // cblocksize, blocksize), p->fts_path)`: blocks in use, rounded up, then a tab and the path).
    const dir = scratch();
    try {
      writeFileSync(join(dir, "data"), randomBytes(10_000));
      const r = await t.run([t.path("/usr/bin/du"), "-sk", dir]);
      assert.equal(r.code, 0, r.stderr);
      const m = new RegExp(`^(\\d+)\\t${escapeRegExp(dir)}\\n$`).exec(r.stdout);
      assert.ok(m, `one line, <KiB>\\t<dir>: ${JSON.stringify(r.stdout)}`);
      const kib = Number.parseInt(r.stdout, 10);
      assert.equal(kib, Number(m[1]));
      assert.ok(kib >= 10, `${kib} KiB: at least the 10,000 bytes written (blocks in use, not the size)`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("ls -1A <dir>: one name per line, dot files included, never `.` or `..`; an empty folder prints nothing", async () => {
    // provider/lib/mac.ts listDir (split on newlines, empty lines dropped). apple-oss-distributions/
    // file_cmds ls/ls.c (`-1` f_singlecol; `-A` f_listdot: names starting with `.`, but fts(3)
    // returns `.` and `..` only with `-a`'s FTS_SEEDOT); piped, a name is printed as it is.
    const dir = scratch();
    try {
      const ls = t.path("/bin/ls");
      const empty = await t.run([ls, "-1A", dir]);
      assert.deepEqual(empty, { code: 0, stdout: "", stderr: "" });
      for (const name of [".hidden", "b", "a b", "ha.pid"]) writeFileSync(join(dir, name), "");
      mkdirSync(join(dir, "sub"));
      const r = await t.run([ls, "-1A", dir]);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stdout.endsWith("\n"), JSON.stringify(r.stdout));
      assert.deepEqual(r.stdout.split("\n").filter(Boolean).sort(), [".hidden", "a b", "b", "ha.pid", "sub"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("cat <file>: its bytes exactly; tail -n N <file>: its last N lines (all of a shorter file)", async () => {
    // provider/lib/mac.ts readFile (kept byte for byte: a file's hash must not depend on the
    // read), tail (trimEnd). apple-oss-distributions/text_cmds cat/cat.c (`raw_cat`: read(2),
    // write(2) as they come), tail/tail.c + forward.c (`-n`: lines counted from the end).
    const dir = scratch();
    try {
      const text = "first\n  ü\ttab\r\nlast, no newline";
      const file = join(dir, "f");
      writeFileSync(file, text);
      assert.deepEqual(await t.run([t.path("/bin/cat"), file]), { code: 0, stdout: text, stderr: "" });
      const lines = join(dir, "lines");
      writeFileSync(lines, "1\n2\n3\n");
      const tail = t.path("/usr/bin/tail");
      assert.deepEqual(await t.run([tail, "-n", "2", lines]), { code: 0, stdout: "2\n3\n", stderr: "" });
      assert.deepEqual(await t.run([tail, "-n", "50", lines]), { code: 0, stdout: "1\n2\n3\n", stderr: "" });
      const missing = await t.run([t.path("/bin/cat"), join(dir, "absent")]);
      assert.notEqual(missing.code, 0);
      assert.doesNotMatch(missing.stderr, /denied/i, "a missing file is not a denied read (no second try as the Homebrew user)");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("test -e / -S <path>: exit 0 for what is there / a socket (a link followed), 1 otherwise", async () => {
    // provider/lib/mac.ts exists, isSocket (the exit status alone). apple-oss-distributions/
    // shell_cmds test/test.c `filstat` (stat(2), so a link is followed, except for -h/-L;
    // FILEXIST: true when stat succeeds; FILSOCK: S_ISSOCK).
    const dir = scratch();
    const server = createServer();
    try {
      const sock = join(dir, "s.sock");
      await new Promise<void>((resolve, reject) => server.once("error", reject).listen(sock, resolve));
      symlinkSync(sock, join(dir, "link"));
      writeFileSync(join(dir, "file"), "");
      const test = t.path("/bin/test");
      const code = async (flag: string, name: string) => (await t.run([test, flag, join(dir, name)])).code;
      assert.deepEqual({ e: [await code("-e", "file"), await code("-e", "s.sock"), await code("-e", "absent")] }, { e: [0, 0, 1] });
      assert.deepEqual(
        { S: [await code("-S", "s.sock"), await code("-S", "link"), await code("-S", "file"), await code("-S", "absent")] },
        { S: [0, 0, 1, 1] },
      );
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("mktemp -d <template>: makes a new folder, mode 0700, the caller's, and prints its path (the X's replaced) alone", async () => {
    // provider/containerInstaller.ts runScript (`mktemp -d /tmp/colima-pulse-installer.XXXXXX`,
    // stdout trimmed is the folder); provider/lib/mac.ts writeFile (`mktemp` of a file).
    // apple-oss-distributions/shell_cmds mktemp/mktemp.c (`-d`: mkdtemp(3), then
    // `printf("%s\n", name)`); Libc mkdtemp(3) makes the folder with mode 0700.
    const dir = scratch();
    try {
      const made: string[] = [];
      for (let i = 0; i < 2; i++) {
        const r = await t.run([t.path("/usr/bin/mktemp"), "-d", `${dir}/colima-pulse-installer.XXXXXX`]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, new RegExp(`^${escapeRegExp(dir)}/colima-pulse-installer\\.[A-Za-z0-9]{6}\\n$`));
        const path = r.stdout.trim();
        const s = statSync(path);
        assert.ok(s.isDirectory(), path);
        assert.equal((s.mode & 0o7777).toString(8), "700", path);
        assert.equal(s.uid, process.getuid?.(), "the caller's");
        made.push(path);
      }
      assert.notEqual(made[0], made[1], "a new folder each time");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a read the user may not make (cat, tail -n, ls -1A, du -sk): exit non-zero, `Permission denied` on stderr", async (ctx) => {
    // provider/lib/mac.ts read: a failed read whose stderr matches /denied/i is asked again as the
    // Homebrew user; any other failure is not. Each tool reports the open's EACCES through
    // warn(3)/err(3), strerror's `Permission denied`: apple-oss-distributions/text_cmds
    // cat/cat.c (`warn("%s", path)`), tail/misc.c `ierr`; file_cmds ls/ls.c (fts's FTS_DNR/FTS_ERR →
    // `warnx("%s: %s", …, strerror(…))`), du/du.c (FTS_DNR: warn, go on, exit 1 with the partial
    // total). The operator (not root) reads files of no mode in a folder of theirs under
    // /var/tmp; on the simulator, where every real process is Linux root, the simulated user is
    // refused by the simulator's model of those checks (test/simulator/README.md, "Reads").
    if (t.name === "mac" && process.getuid?.() === 0) return ctx.skip("not checked on mac: run as root, whom no read is denied");
    const dir = mkdtempSync(join(t.path("/var/tmp"), "cpulse-contract-"));
    try {
      chmodSync(dir, 0o755);
      const file = join(dir, "secret");
      writeFileSync(file, "x\n");
      chmodSync(file, 0o000);
      const closed = join(dir, "closed");
      mkdirSync(join(closed, "inner"), { recursive: true });
      writeFileSync(join(closed, "inner", "f"), "x".repeat(5000));
      chmodSync(join(closed, "inner"), 0o000);
      for (const argv of [
        [t.path("/bin/cat"), file],
        [t.path("/usr/bin/tail"), "-n", "5", file],
        [t.path("/bin/ls"), "-1A", join(closed, "inner")],
        [t.path("/usr/bin/du"), "-sk", closed],
      ]) {
        const r = await t.run(argv);
        assert.notEqual(r.code, 0, `${argv.join(" ")}: ${r.stdout}`);
        assert.match(r.stderr, /Permission denied/, argv.join(" "));
        assert.match(r.stderr, /denied/i, "what provider/lib/mac.ts read matches");
      }
    } finally {
      chmodSync(join(dir, "closed", "inner"), 0o755);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("head -c N <file>: its first N bytes, at most (the whole file when shorter)", async () => {
    // provider/lib/machineLock.ts inspect (`head -c OWNER_MAX_BYTES+1 owner.json`: a longer file
    // is seen as too long). apple-oss-distributions/text_cmds head/head.c `head_bytes` (fread up
    // to cnt bytes, write them as they are; stop at end of file).
    const dir = scratch();
    try {
      const file = join(dir, "owner.json");
      writeFileSync(file, '{"pid":1}\nmore');
      const head = t.path("/usr/bin/head");
      assert.deepEqual(await t.run([head, "-c", "4", file]), { code: 0, stdout: '{"pi', stderr: "" });
      assert.deepEqual(await t.run([head, "-c", "11", file]), { code: 0, stdout: '{"pid":1}\nm', stderr: "" });
      assert.deepEqual(await t.run([head, "-c", "4097", file]), { code: 0, stdout: '{"pid":1}\nmore', stderr: "" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("mv <folder> <folder that is there>: moves the first inside the second; onto a name not there: renames it", async () => {
    // provider/lib/machineLock.ts take (`mv staged dir`: when another took the lock meanwhile ours
    // goes inside theirs, and the look after tells; `mv dir aside`). apple-oss-distributions/
    // file_cmds mv/mv.c main (`if (stat(target) || !S_ISDIR(...))` → do_move(source, target);
    // else each source is moved to `target/<its last component>`); GNU mv does the same (no -T).
    const dir = scratch();
    try {
      const mv = t.path("/bin/mv");
      mkdirSync(join(dir, "staged"));
      writeFileSync(join(dir, "staged", "owner.json"), "ours");
      mkdirSync(join(dir, "lock"));
      writeFileSync(join(dir, "lock", "owner.json"), "theirs");
      assert.deepEqual(await t.run([mv, join(dir, "staged"), join(dir, "lock")]), { code: 0, stdout: "", stderr: "" });
      assert.equal(readFileSync(join(dir, "lock", "owner.json"), "utf8"), "theirs", "the folder that was there is kept");
      assert.equal(readFileSync(join(dir, "lock", "staged", "owner.json"), "utf8"), "ours", "ours went inside it");
      assert.ok(!existsSync(join(dir, "staged")));
      assert.deepEqual(await t.run([mv, join(dir, "lock"), join(dir, "aside")]), { code: 0, stdout: "", stderr: "" });
      assert.equal(readFileSync(join(dir, "aside", "owner.json"), "utf8"), "theirs", "renamed");
      assert.ok(!existsSync(join(dir, "lock")));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("/bin/sh's `cd -P` then `pwd -P`: the physical path, every symlink on the way resolved; a path that is not a folder fails", async () => {
    // provider/lib/backups.ts restoreSourceProblem (`b=$(cd -P -- "$1" 2>/dev/null && pwd -P) ||
    // b=`, as the Homebrew user). POSIX XCU cd (`-P`: symbolic links resolved before `..`) and pwd
    // (`-P`: no symlinks in the path); macOS's /bin/sh is bash 3.2 (builtins/cd.def), the
    // simulator's is dash: both builtins follow POSIX here.
    const dir = scratch();
    try {
      const real = join(dir, "real");
      mkdirSync(join(real, "profile"), { recursive: true });
      symlinkSync(real, join(dir, "base"));
      symlinkSync(join(dir, "base", "profile"), join(dir, "alias"));
      writeFileSync(join(dir, "file"), "");
      const script = 'f=$(cd -P -- "$1" 2>/dev/null && pwd -P) || f=\nprintf "%s\\n" "$f"';
      const resolve = async (p: string) => {
        const r = await t.run([t.path("/bin/sh"), "-c", script, "sh", p]);
        assert.deepEqual([r.code, r.stderr], [0, ""], p);
        return r.stdout;
      };
      // tmpdir() itself may be a link (/var → private/var on a Mac): realpath is the answer.
      const physical = realpathSync(join(real, "profile"));
      assert.equal(await resolve(join(dir, "alias")), `${physical}\n`);
      assert.equal(await resolve(join(dir, "base", "profile", "..", "profile")), `${physical}\n`);
      assert.equal(await resolve(join(dir, "file")), "\n", "not a folder: empty");
      assert.equal(await resolve(join(dir, "absent")), "\n", "absent: empty");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("read-only contracts: Colima's flags by version", () => {
  /** The installed Colima's version (`colima version v0.10.3` or `colima version 0.10.3`). */
  const installed = async () =>
    /^colima version v?(\d+\.\d+\.\d+)/.exec((await t.run([brewBin(t, "colima"), "version"])).stdout)?.[1] as string;
  /** Each flag colima-pulse passes that came after 0.8.0, with the version that introduced it. */
  const since = Object.entries(FLAG_SINCE).flatMap(([command, flags]) => Object.entries(flags).map(([flag, v]) => ({ command, flag, v })));

  it("a flag the installed Colima lacks: `Error: unknown flag: --x` first, exit 1, before anything runs", async () => {
    const r = await t.run([brewBin(t, "colima"), "start", "--profile", `${PROFILE}-flags`, "--cpulse-no-such-flag"]);
    assert.equal(r.code, 1);
    assert.ok(r.stderr.startsWith("Error: unknown flag: --cpulse-no-such-flag\n"), r.stderr);
    assert.match(r.stderr, /msg="unknown flag: --cpulse-no-such-flag"\n$/);
    const made = await t.run([t.path("/bin/test"), "-e", join(t.home, ".colima", `${PROFILE}-flags`)]);
    assert.equal(made.code, 1, "no config folder was made");
  });

  it("`<command> --help` lists the flags colima-pulse passes exactly from the version that introduced each (FLAG_SINCE)", async () => {
    const version = await installed();
    assert.ok(version, "colima version names a version");
    for (const { command, flag, v } of since) {
      const help = await t.run([brewBin(t, "colima"), command, "--help"]);
      assert.equal(help.code, 0, help.stderr);
      const listed = new RegExp(`--${flag}\\b`).test(help.stdout);
      assert.equal(listed, !older(version, v), `colima ${version}: ${command} --${flag} (since ${v})`);
    }
    // Only the installed version is checked here; the others by Colima's history (cmd/start.go, status.go, delete.go).
  });
});

/** One `colima list --json` row: the fields the survey reads. */
function assertListRow(line: string): Record<string, unknown> {
  const row = JSON.parse(line) as Record<string, unknown>;
  assert.equal(typeof row.name, "string", line);
  assert.ok(["Running", "Stopped", "Broken"].includes(String(row.status)), line);
  return row;
}

describe("contracts that change the machine", () => {
  it("Homebrew refuses to run as root", async (ctx) => {
    if (!t.allowChanges) return ctx.skip(readOnly("run brew as root through sudo"));
    const r = await t.run([brewBin(t, "brew"), "list", "--versions"], { root: true });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Error: Running Homebrew as root is extremely dangerous and no longer supported\./);
  });

  it("colima start with no Homebrew on PATH stops at its first step, `limactl info`", async (ctx) => {
    if (!t.allowChanges) return ctx.skip(readOnly("run colima start for a throwaway profile with macOS sshd's PATH"));
    const colima = brewBin(t, "colima");
    const p = ["--profile", `${PROFILE}-nopath`];
    const r = await t.run(
      [colima, "start", ...p, "--runtime", "docker", "--vm-type", "qemu", "--cpus", "1", "--memory", "1", "--disk", "5"],
      {
        path: MAC_SSH_PATH,
      },
    );
    try {
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        /level=fatal msg="lima compatibility error: error checking Lima version: exec: \\"limactl\\": executable file not found in \$PATH"/,
      );
    } finally {
      // A start that went on anyway made a profile: removed, with the Homebrew user's PATH.
      if (r.code === 0) await t.run([colima, "delete", ...p, "--force"], { path: homebrewUserPath({ root: t.path("/") }, t.brewPrefix) });
    }
  });

  it("a QEMU profile: status fields, `already running, ignoring`, a real Docker API, stop and delete", async (ctx) => {
    // Also: the colima.yaml files with what was asked, curl's `/_ping`, the sweep's pid files and
    // disk lock, and `delete --force --data` removing the data disk (where the Colima has `--data`).
    if (!t.allowChanges) return ctx.skip(readOnly("start a throwaway QEMU profile"));
    const colima = brewBin(t, "colima");
    const p = ["--profile", PROFILE];
    const start = await t.run([
      colima,
      "start",
      ...p,
      "--runtime",
      "docker",
      "--vm-type",
      "qemu",
      "--cpus",
      "1",
      "--memory",
      "1",
      "--disk",
      "5",
    ]);
    let deleted = false;
    try {
      assert.equal(start.code, 0, start.stderr);
      const status = JSON.parse((await t.run([colima, "status", ...p, "--json"])).stdout) as Record<string, unknown>;
      assert.deepEqual(Object.keys(status).slice(0, 5), ["display_name", "driver", "arch", "runtime", "mount_type"]);
      assert.equal(status.display_name, `colima [profile=${PROFILE}]`);
      assert.equal(status.driver, "QEMU");
      assert.equal(status.runtime, "docker");
      const socket = join(t.home, ".colima", PROFILE, "docker.sock");
      assert.equal(status.docker_socket, `unix://${socket}`);
      // The same profile by its `colima-` name, and by the short one (ProfileFromName).
      const aliased = JSON.parse((await t.run([colima, "status", "--profile", `colima-${PROFILE}`, "--json"])).stdout) as Record<
        string,
        unknown
      >;
      assert.deepEqual([aliased.display_name, aliased.docker_socket], [status.display_name, status.docker_socket]);
      // The processes the product knows a profile's VM by (provider/lib/host.ts isHostAgentOf,
      // isVmOf; the QEMU gate, process hygiene and the sweep): Lima's host agent started with
      // `hostagent --pidfile <instance>/ha.pid`, QEMU with `-pidfile <instance>/qemu.pid` (lima
      // cmd/limactl hostagent.go, pkg/qemu Cmdline), each pid file holding its own process's PID.
      const instanceDir = join(t.home, ".colima", "_lima", `colima-${PROFILE}`);
      const live = parseProcesses((await t.run([t.path("/bin/ps"), "axo", "pid=,user=,stat=,command="])).stdout);
      const agent = live.filter((proc) => isHostAgentOf(proc.command, instanceDir));
      const vm = live.filter((proc) => isVmOf(proc.command, instanceDir));
      assert.equal(agent.length, 1, `one host agent of ${instanceDir}:\n${live.map((proc) => proc.command).join("\n")}`);
      assert.equal(vm.length, 1, `one qemu-system of ${instanceDir}`);
      const pidIn = async (file: string) => Number((await t.run([t.path("/bin/cat"), join(instanceDir, file)])).stdout.trim());
      assert.deepEqual([await pidIn("ha.pid"), await pidIn("qemu.pid")], [agent[0]?.pid, vm[0]?.pid]);
      // What Colima recorded (provider/colimaProfile.ts recordedConfig, provider/lib/survey.ts
      // findProfile, stacks/index.ts restorePlan, all through provider/lib/adoption.ts topLevelYaml):
      // the state file `_lima/<id>/colima.yaml` (lima.go#addPostStartActions, config/profile.go
      // StateFile) and the config `~/.colima/<p>/colima.yaml` (configmanager.Save, Profile.File),
      // both yamlutil.Save of config.Config (yaml tags `vmType`, `runtime`, `arch`, `cpu`, `memory`, `disk`).
      for (const file of [join(instanceDir, "colima.yaml"), join(t.home, ".colima", PROFILE, "colima.yaml")]) {
        const read = await t.run([t.path("/bin/cat"), file]);
        assert.equal(read.code, 0, `${file}: ${read.stderr}`);
        const y = topLevelYaml(read.stdout);
        assert.deepEqual(
          { vmType: y.vmType, runtime: y.runtime, arch: y.arch, cpu: Number(y.cpu), memory: Number(y.memory), disk: Number(y.disk) },
          { vmType: "qemu", runtime: "docker", arch: status.arch, cpu: 1, memory: 1, disk: 5 },
          file,
        );
        assert.ok(["aarch64", "x86_64"].includes(String(y.arch)), `${file}: arch ${y.arch}`);
      }
      // provider/supervisor.sh api_ok: curl's `/_ping` through the socket answers `OK`.
      assert.deepEqual(
        await t.run([
          t.path("/usr/bin/curl"),
          "--silent",
          "--show-error",
          "--max-time",
          "5",
          "--unix-socket",
          socket,
          "http://localhost/_ping",
        ]),
        { code: 0, stdout: "OK", stderr: "" },
      );
      // provider/sweep.sh's files, each naming a live process whose `ps -p <pid> -o command=` is what
      // sweep matches: Lima's ha.pid (`hostagent --pidfile <instance>/ha.pid`), qemu.pid
      // (`qemu-system-…` `-pidfile <instance>/qemu.pid`), usernet's pid file (`usernet -p <pidfile>`),
      // and the data disk's lock `in_use_by`, a link to the instance folder ([lima]
      // pkg/store/instance.go#ReadPIDFile, cmd/limactl/hostagent.go, pkg/driver/qemu, pkg/networks/usernet
      // config.go#PIDFile and recoincile.go#Start, pkg/store/disk.go#Lock).
      // The paths come from the product (provider/lib/host.ts colimaPaths), checked against Colima's.
      const user = (await t.run([t.path("/usr/bin/id"), "-un"])).stdout.trim();
      const paths = colimaPaths({ root: t.path("/"), user }, PROFILE);
      assert.deepEqual([paths.instanceDir, paths.dockerSocket], [instanceDir, socket]);
      const net = paths.usernetDir;
      const disk = paths.diskDir;
      const commandOf = async (pidFile: string) => {
        const pid = (await t.run([t.path("/bin/cat"), pidFile])).stdout.trim();
        assert.match(pid, /^\d+$/, `${pidFile} holds a PID`);
        const r = await t.run([t.path("/bin/ps"), "-p", pid, "-o", "command="]);
        assert.equal(r.code, 0, `${pidFile}: PID ${pid} is alive`);
        return r.stdout.trim();
      };
      assert.ok((await commandOf(join(instanceDir, "ha.pid"))).includes(`hostagent --pidfile ${instanceDir}/ha.pid`));
      const qemu = await commandOf(join(instanceDir, "qemu.pid"));
      assert.ok(qemu.includes("qemu-system-") && qemu.includes(`-pidfile ${instanceDir}/qemu.pid`), qemu);
      const usernetPid = join(net, "usernet_user-v2.pid");
      assert.ok((await commandOf(usernetPid)).includes(`usernet -p ${usernetPid}`));
      const colimaVersion = await installedColima();
      const hasDataDisk = !older(colimaVersion, FLAG_SINCE.delete?.data as string);
      if (hasDataDisk) {
        // Colima 0.9+ keeps the runtime's data on a Lima disk named after the instance
        // (environment/vm/lima/limautil/disk.go CreateDisk: `limactl disk create <id>`).
        const holder = await t.run([t.path("/usr/bin/readlink"), join(disk, "in_use_by")]);
        assert.deepEqual(holder, { code: 0, stdout: `${instanceDir}\n`, stderr: "" });
      } else
        ctx.diagnostic(`colima ${colimaVersion}: no data disk before ${FLAG_SINCE.delete?.data} (cmd/delete.go 94e18e9), so no in_use_by`);
      const again = await t.run([colima, "start", ...p, "--vm-type", "qemu"]);
      assert.equal(again.code, 0);
      assert.match(again.stderr, /already running, ignoring/);
      const rows = (await t.run([colima, "list", "--json"])).stdout.split("\n").filter(Boolean).map(assertListRow);
      assert.deepEqual(
        rows.filter((r) => r.name === PROFILE).map((r) => r.status),
        ["Running"],
      );
      const version = await new Promise<string>((resolve) =>
        execFile(brewBin(t, "docker"), ["--host", `unix://${socket}`, "version", "--format", "{{.Server.Version}}"], (_e, out) =>
          resolve(out),
        ),
      );
      assert.match(version, /^\d+\.\d+/);
      // The socket is the user's alone, srw-------: connect(2) refuses anyone else write access
      // (EACCES), so a local operator who is not the Homebrew user asks through that user
      // (provider/healthGate.ts askApi).
      const sock = statSync(socket);
      const uid = Number((await t.run([t.path("/usr/bin/id"), "-u"])).stdout.trim());
      assert.deepEqual([sock.isSocket(), sock.uid, sock.mode & 0o777], [true, uid, 0o600]);
      if (t.runAsPasswordSudoer) {
        const other = await t.runAsPasswordSudoer([brewBin(t, "docker"), "--host", `unix://${socket}`, "version"]);
        assert.equal(other.code, 1);
        assert.match(other.stderr, /connect: permission denied\n$/);
      } else ctx.diagnostic(`another user's connect not checked on ${t.name}: the contract has no second user to run as`);
      assert.equal((await t.run([colima, "stop", ...p])).code, 0);
      assert.equal((await t.run([colima, "status", ...p])).code, 1);
      const there = (path: string) => t.run([t.path("/bin/test"), "-e", path]).then((r) => r.code === 0);
      if (hasDataDisk) {
        // provider/colimaProfile.ts fullReset: `delete --force --data` (app/app.go#Delete: with
        // `data`, limautil.DeleteDisk → `limactl disk delete <id>`, which removes the disk's folder).
        assert.equal(await there(disk), true, `${disk}: the data disk outlives a stop`);
        const removed = await t.run([colima, "delete", ...p, "--force", "--data"]);
        assert.equal(removed.code, 0, removed.stderr);
        assert.match(removed.stderr, /deleting container data/);
        assert.deepEqual(
          [await there(disk), await there(instanceDir), await there(join(t.home, ".colima", PROFILE))],
          [false, false, false],
          "the data disk, the instance and the config are gone",
        );
      } else assert.equal((await t.run([colima, "delete", ...p, "--force"])).code, 0);
      deleted = true;
    } finally {
      // Cleanup after a failure: best effort, so the failure itself is what the test reports.
      if (!deleted) {
        const data = older((await installedColima()) ?? "0.0.0", FLAG_SINCE.delete?.data as string) ? [] : ["--data"];
        await t.run([colima, "delete", ...p, "--force", ...data]);
      }
    }
  });

  it('launchctl disable/enable system/<label>: print-disabled shows `"label" => disabled`, then `enabled`', async (ctx) => {
    if (!t.allowChanges) return ctx.skip(readOnly("set a launchd override for a throwaway label with sudo"));
    const launchctl = t.path("/bin/launchctl");
    const printDisabled = () => t.run([launchctl, "print-disabled", "system"], { root: true });
    const rowOf = (r: { stdout: string }) => r.stdout.split("\n").find((l) => l.startsWith(`\t"${LABEL}" => `));
    // Every step runs before any assertion, so the label is left enabled whatever fails; launchd
    // keeps the override (as enabled) afterwards, as it does for the provider's own `enable`.
    const disable = await t.run([launchctl, "disable", `system/${LABEL}`], { root: true });
    const whileDisabled = await printDisabled();
    const enable = await t.run([launchctl, "enable", `system/${LABEL}`], { root: true });
    const afterwards = await printDisabled();
    assert.deepEqual([disable.code, whileDisabled.code, enable.code, afterwards.code], [0, 0, 0, 0]);
    assert.equal(rowOf(whileDisabled), `\t"${LABEL}" => disabled`);
    assert.equal(rowOf(afterwards), `\t"${LABEL}" => enabled`);
  });

  it("`brew services start` from an SSH session (SSH_TTY, nobody's console) loads into user/<uid>, with Homebrew's warning", async (ctx) => {
    // On a Mac this would start the operator's own default Colima profile under brew services.
    if (t.name === "mac")
      return ctx.skip(
        "not checked on a Mac: it would start the default Colima profile with brew services (Homebrew's services/system.rb#domain_target is the source)",
      );
    const uid = (await t.run([t.path("/usr/bin/id"), "-u"])).stdout.trim();
    const brew = brewBin(t, "brew");
    const r = await t.run([t.path("/usr/bin/env"), "SSH_TTY=/dev/ttys001", brew, "services", "start", "colima"]);
    try {
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^Warning: running over SSH without \/dev\/console ownership, using user\/\* instead of gui\/\* domain!\n/);
      assert.equal((await t.run([t.path("/bin/launchctl"), "print", `user/${uid}/homebrew.mxcl.colima`], { root: true })).code, 0);
    } finally {
      await t.run([brew, "services", "stop", "colima"]);
    }
  });

  it("COLIMA_HOME, when that folder exists, holds a profile's folders instead of ~/.colima", async (ctx) => {
    if (!t.allowChanges) return ctx.skip(readOnly("start a throwaway QEMU profile under a temporary COLIMA_HOME"));
    const home = join(t.home, `.${PROFILE}-home`);
    const colima = (...argv: string[]) => t.run([t.path("/usr/bin/env"), `COLIMA_HOME=${home}`, brewBin(t, "colima"), ...argv]);
    assert.equal((await t.run([t.path("/bin/mkdir"), "-p", home])).code, 0);
    try {
      const start = await colima(
        "start",
        "--profile",
        `${PROFILE}-home`,
        "--vm-type",
        "qemu",
        "--cpus",
        "1",
        "--memory",
        "1",
        "--disk",
        "5",
      );
      assert.equal(start.code, 0, start.stderr);
      const there = (path: string) => t.run([t.path("/bin/test"), "-e", path]).then((r) => r.code === 0);
      assert.equal(await there(join(home, `${PROFILE}-home`, "colima.yaml")), true);
      assert.equal(await there(join(home, "_lima", `colima-${PROFILE}-home`)), true);
      assert.equal(await there(join(t.home, ".colima", `${PROFILE}-home`)), false);
    } finally {
      await colima("delete", "--force", "--profile", `${PROFILE}-home`);
      await t.run([t.path("/bin/rm"), "-rf", home]);
    }
  });

  it("a Colima of another version refuses or takes each flag as FLAG_SINCE says", (ctx) => {
    // One Colima is installed on a Mac; the simulator's test covers 0.8.0, 0.8.4 and 0.9.1.
    ctx.skip(`not checked on ${t.name}: needs Colima versions other than the installed one (the --help contract checks that one)`);
  });

  it("launchctl in the Homebrew user's user/<uid> domain (where `brew services` loads from SSH): bootstrap, print, bootout as root", async (ctx) => {
    if (!t.allowChanges) return ctx.skip(readOnly("load a throwaway LaunchAgent into the operator's user/<uid> domain"));
    const uid = (await t.run([t.path("/usr/bin/id"), "-u"])).stdout.trim();
    const agent = `${LABEL}.agent`;
    const plist = join(t.home, "Library/LaunchAgents", `${agent}.plist`);
    writeFileSync(plist, build({ Label: agent, ProgramArguments: ["/bin/sleep", "600"], RunAtLoad: true }));
    const launchctl = t.path("/bin/launchctl");
    try {
      const loaded = await t.run([launchctl, "bootstrap", `user/${uid}`, plist]);
      assert.equal(loaded.code, 0, loaded.stderr);
      for (const root of [false, true]) {
        const printed = await t.run([launchctl, "print", `user/${uid}/${agent}`], { root });
        assert.equal(printed.code, 0, printed.stderr);
        assert.match(printed.stdout, /\n\tstate = running\n/);
      }
      assert.notEqual((await t.run([launchctl, "print", `gui/${uid}/${agent}`], { root: true })).code, 0, "not in the gui domain");
      assert.equal((await t.run([launchctl, "bootout", `user/${uid}/${agent}`], { root: true })).code, 0);
      assert.equal((await t.run([launchctl, "print", `user/${uid}/${agent}`], { root: true })).code, 113);
    } finally {
      await t.run([launchctl, "bootout", `user/${uid}/${agent}`], { root: true });
      await t.run([t.path("/bin/rm"), "-f", plist]);
    }
  });

  it("launchctl bootstrap/bootout errors in the system domain, and kickstart -k: a new pid; not loaded: 113", async (ctx) => {
    if (!t.allowChanges) return ctx.skip(readOnly("load a throwaway LaunchDaemon with sudo"));
    const tmp = join(mkdtempSync(join(tmpdir(), "cpulse-contract-")), `${LABEL}.plist`);
    writeFileSync(tmp, build({ Label: LABEL, ProgramArguments: ["/bin/sleep", "600"], RunAtLoad: true }));
    const plist = t.path(`/Library/LaunchDaemons/${LABEL}.plist`);
    const launchctl = t.path("/bin/launchctl");
    const copied = await t.run([t.path("/bin/cp"), tmp, plist], { root: true });
    assert.equal(copied.code, 0, copied.stderr);
    assert.equal((await t.run([t.path("/usr/sbin/chown"), "0:0", plist], { root: true })).code, 0);
    assert.equal((await t.run([t.path("/bin/chmod"), "644", plist], { root: true })).code, 0);
    try {
      assert.equal((await t.run([launchctl, "bootstrap", "system", plist], { root: true })).code, 0);
      assert.deepEqual(await t.run([launchctl, "bootstrap", "system", plist], { root: true }), {
        code: 5,
        stdout: "",
        stderr: "Bootstrap failed: 5: Input/output error\n",
      });
      const printed = await t.run([launchctl, "print", `system/${LABEL}`]);
      assert.match(printed.stdout, /\n\tstate = running\n/);
      assert.match(printed.stdout, /\n\tpid = \d+\n/);
      // provider/launchDaemon.ts restarts a loaded job that is not running with `kickstart -k`
      // (launchctl(1): "-k: If the service is already running, kill the running instance before
      // restarting the service"): exit 0, and the job runs again under a new PID.
      const pidOf = (text: string) => /\n\tpid = (\d+)\n/.exec(text)?.[1];
      const kicked = await t.run([launchctl, "kickstart", "-k", `system/${LABEL}`], { root: true });
      assert.deepEqual(kicked, { code: 0, stdout: "", stderr: "" });
      const restarted = (await t.run([launchctl, "print", `system/${LABEL}`])).stdout;
      assert.match(restarted, /\n\tstate = running\n/);
      assert.ok(
        pidOf(restarted) && pidOf(restarted) !== pidOf(printed.stdout),
        `a new pid: ${pidOf(printed.stdout)} → ${pidOf(restarted)}`,
      );
      assert.equal((await t.run([launchctl, "bootout", `system/${LABEL}`], { root: true })).code, 0);
      assert.deepEqual(await t.run([launchctl, "bootout", `system/${LABEL}`], { root: true }), {
        code: 3,
        stdout: "",
        stderr: "Boot-out failed: 3: No such process\n",
      });
      // A label not loaded: [obs] DeterminateSystems/nix-installer#960, #1124 (`launchctl kickstart -k
      // system/org.nixos.darwin-store` → status 113, `Could not find service "…" in domain for system`).
      assert.deepEqual(await t.run([launchctl, "kickstart", "-k", `system/${LABEL}`], { root: true }), {
        code: 113,
        stdout: "",
        stderr: `Could not find service "${LABEL}" in domain for system\n`,
      });
    } finally {
      await t.run([launchctl, "bootout", `system/${LABEL}`], { root: true });
      await t.run([t.path("/bin/rm"), "-f", plist], { root: true });
    }
  });
});
