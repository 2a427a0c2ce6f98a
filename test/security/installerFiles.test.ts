// An installer's files reach the Mac byte for byte, and a folder whose file names are not UTF-8 is
// refused by name before anything runs. Over SSH the provider copies containers/<name>/ to the Mac
// (provider/containerInstaller.ts); a copy made as text turned every byte that is not UTF-8 into
// U+FFFD (a binary of 256 bytes arrived as 512), so a binary, an archive or a key file an
// installer ships was corrupted without a word. Through the real engine and a real sshd.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { installerOnlyProgram, macOverSsh } from "../helpers/macOverSsh";
import { TestStack } from "../helpers/pulumiStack";
import { simulatedMac } from "../helpers/simulatedMac";

/** A program holding one ContainerInstaller, `files`, on the Mac the `host` setting names. */
const INSTALLER_ONLY = installerOnlyProgram("files", { OUT: "plain" });

/** Every byte value once: 0x00…0xff. */
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** A file name that is not UTF-8 (0xff never occurs in UTF-8), as the bytes Linux stores. */
const BAD_NAME = Buffer.concat([Buffer.from("notes-"), Buffer.from([0xff, 0xfe]), Buffer.from(".txt")]);

describe("an installer's files", { concurrency: false }, () => {
  const target = macOverSsh();
  const { stacks } = target;

  const overSsh = () => target.host();

  /** A stack of INSTALLER_ONLY whose containers/files/ holds `files` (name → bytes) and an
   *  install.sh that copies the installer's folder, as the Mac received it, to `<stack>/received`. */
  async function installerStack(name: string, files: [Buffer | string, Buffer][]): Promise<TestStack> {
    const stack = await TestStack.create(name, {}, { program: INSTALLER_ONLY, env: { SIM_USER: "ops" } });
    stacks.push(stack);
    const dir = join(stack.dir, "containers/files");
    mkdirSync(join(dir, "bin"), { recursive: true });
    writeFileSync(join(dir, "install.sh"), `#!/bin/sh\nset -e\nmkdir -p "$OUT"\ncp -R . "$OUT"\n`);
    chmodSync(join(dir, "install.sh"), 0o755);
    for (const [file, bytes] of files) {
      const path = typeof file === "string" ? join(dir, file) : Buffer.concat([Buffer.from(`${dir}/`), file]);
      writeFileSync(path, bytes);
    }
    for (const [key, value] of Object.entries({
      host: JSON.stringify(overSsh()),
      dir,
      filesHash: "0".repeat(64),
      dockerHost: `unix://${target.sim.path("/Users/ops/.colima/default/docker.sock")}`,
      prefix: target.sim.path("/opt/homebrew"),
      out: join(stack.dir, "received"),
    }))
      await stack.must(["config", "set", key, value]);
    return stack;
  }

  it("copied over SSH, a binary holding every byte value arrives with the same sha256 (and modes kept)", async () => {
    const stack = await installerStack("sec-files-bytes", [["bin/all-bytes.bin", ALL_BYTES]]);
    chmodSync(join(stack.dir, "containers/files/bin/all-bytes.bin"), 0o750);
    await stack.must(["up", "--yes", "--skip-preview"]);
    const received = readFileSync(join(stack.dir, "received/bin/all-bytes.bin"));
    assert.equal(received.length, 256, `256 bytes in, ${received.length} out`);
    assert.equal(sha256(received), sha256(ALL_BYTES));
  });

  it("a file name that is not UTF-8, met while copying over SSH: refused by name, nothing run", async () => {
    const stack = await installerStack("sec-files-name", [[BAD_NAME, Buffer.from("x")]]);
    const r = await stack.cli(["up", "--yes", "--skip-preview"]);
    assert.notEqual(r.code, 0, r.stdout);
    const text = r.stdout + r.stderr;
    assert.match(text, /containers\/files/, text);
    assert.match(text, /notes-\\xff\\xfe\.txt/, "the name, its bytes escaped");
    assert.match(text, /UTF-8/, "what is allowed");
    assert.deepEqual(
      readdirSync(stack.dir).filter((f) => f === "received"),
      [],
      "install.sh did not run",
    );
  });

  it("the program refuses a containers/ folder with a name that is not UTF-8 before it touches the Mac", async () => {
    const mac = await simulatedMac("sec-files-program");
    try {
      const dir = join(mac.stack.dir, "containers/demo");
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "install.sh"), "#!/bin/sh\nexit 0\n");
      writeFileSync(Buffer.concat([Buffer.from(`${dir}/`), BAD_NAME]), "x");
      mac.sim.clearRecords();
      const r = await mac.stack.cli(["preview"]);
      assert.notEqual(r.code, 0, r.stdout);
      const text = r.stdout + r.stderr;
      assert.match(text, /containers\/demo/, text);
      assert.match(text, /notes-\\xff\\xfe\.txt/, text);
      assert.match(text, /UTF-8/, text);
      assert.doesNotMatch(text, /ENOENT|at .*\.ts:\d+/, "a refusal, not a crash");
      assert.deepEqual(
        mac.sim.records().map((e) => e.tool),
        [],
        "nothing ran on the Mac",
      );
    } finally {
      await mac.dispose();
    }
  });
});
