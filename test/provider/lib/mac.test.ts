// The local transport off a Mac: root `/` would be this machine itself, so macOf refuses it before
// any command runs (the program, providers working from state and fleet status all get a Mac there).
// And sudo: the commands run as root (ROOT_COMMANDS), the sudoers lines for them, checkSudo, and
// root's files written with nothing but those, on a simulated Mac as strict as macOS's sudo.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { checkSudo, type Mac, macOf, NotAMacError, refuseHostRoot, SUDOERS_FILE, sudoersLines } from "../../../provider/lib/mac";
import { MacSimulator } from "../../simulator/simulator";

describe("refuseHostRoot: off a Mac, nothing targets this machine's /", () => {
  it("refuses / (and //) on Linux, naming why and the two ways that work", () => {
    for (const root of ["/", "//"]) {
      assert.throws(
        () => refuseHostRoot(root, "linux"),
        (e: Error) =>
          e instanceof NotAMacError &&
          e.message.startsWith(
            "this machine is not a Mac (linux), and the stack has no SSH_HOST: it would converge this machine's own /. Nothing was run.",
          ) &&
          e.message.includes("npm run demo") &&
          e.message.includes("pulumi config set SSH_HOST"),
      );
    }
  });
  it("allows a simulated Mac's root on Linux, and / on a Mac", () => {
    refuseHostRoot("/tmp/cpulse-mac-1", "linux");
    refuseHostRoot("/", "darwin");
  });
  it("macOf refuses a local / here, and takes / over SSH (a real Mac's root)", () => {
    if (process.platform === "darwin") return; // on a Mac, / is this Mac
    assert.throws(() => macOf({ root: "/", user: "ops" }), NotAMacError);
    assert.equal(macOf({ root: "/", user: "ops", ssh: { destination: "admin@mac-07.local" } }).local, false);
  });
});

describe("sudo: the commands colima-pulse runs as root, and the sudoers lines that let an operator run them", () => {
  it("sudoersLines: ROOT_COMMANDS as root, and ALL as the Homebrew user unless that is the operator", () => {
    const host = { root: "/", user: "ops" };
    assert.deepEqual(sudoersLines(host, "admin"), [
      "admin ALL=(root) NOPASSWD: /bin/launchctl, /usr/bin/install, /bin/mv, /bin/rm, /usr/sbin/chown, /bin/chmod, /usr/bin/fdesetup, /bin/kill, /usr/bin/pmset",
      "admin ALL=(ops) NOPASSWD: ALL",
    ]);
    assert.equal(sudoersLines(host, "ops").length, 1, "the Homebrew user needs no sudo -u to itself");
    assert.match(sudoersLines(host, "a b")[0] as string, /^"a b" ALL=/, "a name sudoers would split is quoted");
  });

  describe("on a simulated Mac whose operator's sudo asks a password (HOMEBREW_USER ops)", () => {
    let sim: MacSimulator;
    let mac: Mac;
    const sudoers = () => sim.path(SUDOERS_FILE);
    before(async () => {
      sim = await MacSimulator.create({
        dockerTarget: "/nonexistent/docker.sock",
        operator: "pw",
        users: { ops: { uid: 501, gid: 20, admin: false, sudo: "none" }, pw: { uid: 502, gid: 20, admin: true, sudo: "password" } },
      });
      process.env.SIM_USER = "pw"; // the provider runs as the operator
      mac = macOf({ root: sim.root, user: "ops" });
    });
    after(async () => {
      await sim?.dispose();
    });

    it("without the lines: checkSudo refuses with them, having changed nothing", async () => {
      sim.clearRecords();
      await assert.rejects(checkSudo(mac, "pre-flight"), (e: Error) => {
        assert.equal(e.name, "SudoError");
        assert.ok(
          e.message.startsWith(
            "pre-flight: pw cannot run colima-pulse's root commands through sudo on this Mac without a password (sudo: a password is required);",
          ),
          e.message,
        );
        assert.ok(e.message.includes(`\n  ${sudoersLines(mac.host, "pw").join("\n  ")}\n`), e.message);
        assert.ok(!e.message.includes(" on ops"), "run where the operator is: no host named");
        return true;
      });
      assert.deepEqual(
        sim.records().filter((r) => r.tool !== "sudo" && r.tool !== "id"),
        [],
      );
    });

    it("with the lines in /etc/sudoers.d/colima-pulse: checkSudo passes, root's files are written whole through install and mv", async () => {
      writeFileSync(sudoers(), `${sudoersLines(mac.host, "pw").join("\n")}\n`, { mode: 0o440 });
      try {
        await checkSudo(mac, "pre-flight");
        const file = sim.path("/Library/LaunchDaemons/com.example.test.plist");
        writeFileSync(file, "old\n");
        await mac.writeFile(file, "<plist/>\n", { owner: "root", mode: "0644" });
        const st = statSync(file);
        assert.deepEqual([readFileSync(file, "utf8"), st.uid, st.gid, (st.mode & 0o7777).toString(8)], ["<plist/>\n", 0, 0, "644"]);
        assert.deepEqual(readdirSync(sim.path("/Library/LaunchDaemons")), ["com.example.test.plist"], "no file left beside it");
        assert.deepEqual(
          readdirSync(sim.path("/var/tmp")).filter((f) => f.startsWith("colima-pulse.")),
          [],
          "nor ours",
        );
        const asRoot = sim
          .records()
          .filter((r) => r.tool === "sudo" && r.exit === 0 && !r.argv.includes("-u"))
          .map((r) => r.argv[1]);
        assert.deepEqual(
          [...new Set(asRoot)],
          ["/bin/launchctl", "/usr/bin/install", "/bin/mv"].map((p) => sim.path(p)),
        );
        assert.equal((await mac.asUser([sim.path("/usr/bin/id"), "-un"])).stdout.trim(), "ops");
        // A line without mv: the write stops at sudo's refusal, with the fix.
        writeFileSync(
          sudoers(),
          `${sudoersLines(mac.host, "pw")
            .join("\n")
            .replace(`${sim.path("/bin/mv")}, `, "")}\n`,
        );
        await assert.rejects(
          mac.writeFile(file, "new\n", { owner: "root", mode: "0644" }),
          (e: Error) =>
            e.name === "SudoError" && e.message.startsWith(`pw may not run \`${sim.path("/usr/bin/sudo")} -n ${sim.path("/bin/mv")} -f `),
        );
        assert.equal(readFileSync(file, "utf8"), "<plist/>\n");
      } finally {
        rmSync(sudoers(), { force: true });
      }
    });

    it("asRoot refuses a command outside ROOT_COMMANDS before sudo runs", async () => {
      sim.clearRecords();
      await assert.rejects(mac.asRoot([sim.path("/bin/sh"), "-c", "true"]), /is not one of the commands colima-pulse runs as root/);
      assert.deepEqual(sim.records(), []);
    });
  });
});
