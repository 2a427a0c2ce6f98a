// The settings layers: precedence, defaults, and the exact error for every kind of bad input.
// Pure: no engine, no files except the readLayers case.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { type EngineConfig, type LayerValues, parseDotenv, readLayers, resolveSettings, SETTINGS } from "../../stacks/config";
import { settingsProblems } from "../helpers/settings";

const project = (values: Record<string, unknown>): LayerValues => ({ layer: "project", file: "Pulumi.yaml", values });
const dotenv = (values: Record<string, unknown>): LayerValues => ({ layer: ".env", file: ".env", values });
const stack = (values: Record<string, unknown>): LayerValues => ({ layer: "stack", file: "stacks/Pulumi.mac1.yaml", values });

describe("settings: precedence and defaults", () => {
  it("project < .env < stack, with defaults for the rest and where each came from", () => {
    const r = resolveSettings([
      project({ COLIMA_CPUS: 2, COLIMA_MEMORY: 4 }),
      dotenv({ HOMEBREW_USER: "ops", COLIMA_CPUS: "3" }),
      stack({ COLIMA_CPUS: 6 }),
    ]);
    assert.equal(r.settings.COLIMA_CPUS, 6);
    assert.equal(r.settings.COLIMA_MEMORY, 4);
    assert.equal(r.settings.HOMEBREW_USER, "ops");
    assert.equal(r.settings.COLIMA_PROFILE, "default");
    assert.equal(r.settings.BACKUP_DIR_BASE, "/Users/ops/colima-pulse-backups");
    assert.equal(r.settings.PRUNE_DOCKER_AFTER_START, false);
    assert.deepEqual(
      [r.sources.COLIMA_CPUS, r.sources.COLIMA_MEMORY, r.sources.HOMEBREW_USER, r.sources.LABEL],
      ["stack", "project", ".env", "default"],
    );
  });

  it("checks a value that a later layer overrides, too: a bad fleet default is an error on every machine", () => {
    const problems = settingsProblems([project({ COLIMA_DISK: 5, HOMEBREW_USER: "ops" }), stack({ COLIMA_DISK: 60 })]);
    assert.equal(problems.length, 1);
    assert.match(problems[0] as string, /^COLIMA_DISK \(project: Pulumi\.yaml\) = 5: .*from 10 to 8192/);
  });

  it("takes .env text for numbers and flags", () => {
    const r = resolveSettings([dotenv({ HOMEBREW_USER: "ops", COLIMA_DISK: "60", PRUNE_DOCKER_AFTER_START: "yes" })]);
    assert.deepEqual([r.settings.COLIMA_DISK, r.settings.PRUNE_DOCKER_AFTER_START], [60, true]);
  });
});

describe("settings: bad input is refused with key, layer, value and what is allowed", () => {
  const cases: [string, LayerValues[], string[]][] = [
    ["HOMEBREW_USER missing", [project({})], ["HOMEBREW_USER (no layer sets it): is required"]],
    [
      "root as HOMEBREW_USER",
      [stack({ HOMEBREW_USER: "root" })],
      ['HOMEBREW_USER (stack: stacks/Pulumi.mac1.yaml) = "root": must not be root: Homebrew refuses to run as root'],
    ],
    [
      "hostile user name",
      [dotenv({ HOMEBREW_USER: "ops; rm -rf /" })],
      ['HOMEBREW_USER (.env: .env) = "ops; rm -rf /": must be a macOS short user name (lower-case letters, digits, _ . -)'],
    ],
    [
      "CPUs 0, memory as words, a fractional disk",
      [stack({ HOMEBREW_USER: "ops", COLIMA_CPUS: 0, COLIMA_MEMORY: "lots", COLIMA_DISK: 20.5 })],
      [
        "COLIMA_CPUS (stack: stacks/Pulumi.mac1.yaml) = 0: must be a whole number of CPUs from 1 to 64",
        'COLIMA_MEMORY (stack: stacks/Pulumi.mac1.yaml) = "lots": must be a whole number of GiB from 1 to 1024 (write 4 for 4 GiB)',
        "COLIMA_DISK (stack: stacks/Pulumi.mac1.yaml) = 20.5: must be a whole number of GiB from 10 to 8192 (write 200 for 200 GiB)",
      ],
    ],
    [
      "a boolean where a number belongs",
      [stack({ HOMEBREW_USER: "ops", WAIT_SOCKET_MAX: true })],
      [
        "WAIT_SOCKET_MAX (stack: stacks/Pulumi.mac1.yaml) = true: must be a whole number of seconds from 1 to 3600 (write 120 for 2 minutes)",
      ],
    ],
    ["an empty string", [dotenv({ HOMEBREW_USER: "ops", LABEL: "" })], ['LABEL (.env: .env) = "": must not be empty']],
    [
      "a label with a shell metacharacter, a profile with a slash",
      [stack({ HOMEBREW_USER: "ops", LABEL: "com.x$(id)" }), dotenv({ COLIMA_PROFILE: "a/b" })],
      [
        'COLIMA_PROFILE (.env: .env) = "a/b": must be a Colima profile name (letters, digits, _ -; up to 63)',
        'LABEL (stack: stacks/Pulumi.mac1.yaml) = "com.x$(id)": must be a reverse-DNS launchd label such as com.example.colima',
      ],
    ],
    [
      "relative, traversing and quoted paths",
      [stack({ HOMEBREW_USER: "ops", LOG_PATH: "logs/colima.log", BACKUP_DIR_BASE: "/Users/ops/../../etc" }), dotenv({})],
      [
        'LOG_PATH (stack: stacks/Pulumi.mac1.yaml) = "logs/colima.log": must be an absolute path of letters, digits, space and ._@+- (no quotes, $, ;, newlines)',
        "BACKUP_DIR_BASE (stack: stacks/Pulumi.mac1.yaml) = \"/Users/ops/../../etc\": must not contain '..'",
      ],
    ],
    [
      "a newline in a path",
      [stack({ HOMEBREW_USER: "ops", LOG_PATH: "/var/log/a\nb" })],
      [
        'LOG_PATH (stack: stacks/Pulumi.mac1.yaml) = "/var/log/a\\nb": must be an absolute path of letters, digits, space and ._@+- (no quotes, $, ;, newlines)',
      ],
    ],
    [
      "the `brew services` label",
      [stack({ HOMEBREW_USER: "ops", LABEL: "homebrew.mxcl.colima" })],
      [
        'LABEL (stack: stacks/Pulumi.mac1.yaml) = "homebrew.mxcl.colima": must not be a `brew services` label (homebrew.mxcl.*): that job is a conflict we remove',
      ],
    ],
    [
      "PRUNE_MODE outside its set",
      [stack({ HOMEBREW_USER: "ops", PRUNE_MODE: "everything" })],
      ['PRUNE_MODE (stack: stacks/Pulumi.mac1.yaml) = "everything": must be one of dangling, images, system'],
    ],
    [
      "danger switches in .env and in the stack",
      [dotenv({ HOMEBREW_USER: "ops", FULL_RESET: "true" }), stack({ RESET_BACKUP_MODE: "false" })],
      [
        'FULL_RESET (.env: .env) = "true": a danger switch is not a setting; it is accepted only on the command line, for one run: a full reset is `npm run reset` (its preview shows what moves where, then it asks) (README: "Safety model")',
        'RESET_BACKUP_MODE (stack: stacks/Pulumi.mac1.yaml) = "false": a danger switch is not a setting; it is accepted only on the command line, for one run: a reset\'s backup is `npm run reset -- --backup=move` (the default), `--backup=prompt` or `--backup=false` (README: "Safety model")',
      ],
    ],
    [
      "a typo, with a suggestion",
      [stack({ HOMEBREW_USER: "ops", COLIMA_CPU: 4 })],
      [
        "COLIMA_CPU (stack: stacks/Pulumi.mac1.yaml) = 4: unknown setting (did you mean COLIMA_CPUS?); allowed: HOMEBREW_USER, COLIMA_PROFILE, COLIMA_CPUS, COLIMA_MEMORY, COLIMA_DISK, LABEL, LOG_PATH, BACKUP_DIR_BASE, PRUNE_DOCKER_AFTER_START, PRUNE_MODE, WAIT_SOCKET_MAX, WAIT_DOCKER_API_MAX, WAIT_QEMU_MAX, WAIT_STABLE_REQUIRED, WAIT_WORKLOADS_MAX, RESTART_THROTTLE_SECONDS, MAX_FAILED_STARTS, SSH_HOST, SSH_PORT, SSH_IDENTITY_FILE, SSH_KNOWN_HOSTS_FILE, API_HANG_SECONDS, CLOCK_DRIFT_MAX_SECONDS, LOG_ROTATE_SIZE_MB, LOG_ROTATE_COUNT, DOCKER_SOCKET_GROUP, BACKUP_KEEP, VERSION_DENYLIST, DISK_WARN_PERCENT, DISK_TRIM_AFTER_START, POWER_AUTORESTART, POWER_NO_SLEEP, POWER_WAKE_ON_NETWORK",
      ],
    ],
  ];
  for (const [name, layers, expected] of cases) {
    it(name, () => assert.deepEqual(settingsProblems(layers), expected));
  }
});

describe("settings: reading the layers", () => {
  it(".env.example is valid and names every setting", () => {
    const example = readFileSync(join(__dirname, "../../.env.example"), "utf8");
    const layer = parseDotenv(example, ".env.example");
    assert.equal(resolveSettings([layer]).settings.HOMEBREW_USER, "your-short-user-name");
    for (const key of Object.keys(SETTINGS)) assert.match(example, new RegExp(`^#? ?${key}=`, "m"), key);
  });

  // What the `dotenv` package reads, and the lines it would skip without a word (refused here).
  const DOTENV: [string, string, Record<string, string> | RegExp][] = [
    ["double quotes and an inline comment", 'HOMEBREW_USER="ops" # the brew owner\n', { HOMEBREW_USER: "ops" }],
    ["single quotes keep spaces", "LOG_PATH='/var/log/x y.log'\n", { LOG_PATH: "/var/log/x y.log" }],
    ["unquoted with a comment", "COLIMA_CPUS=4 # four\n", { COLIMA_CPUS: "4" }],
    ["export", "export HOMEBREW_USER=ops\n", { HOMEBREW_USER: "ops" }],
    ["an empty value", "BACKUP_DIR_BASE=\n", { BACKUP_DIR_BASE: "" }],
    ["CRLF line ends", "HOMEBREW_USER=ops\r\nCOLIMA_CPUS=4\r\n", { HOMEBREW_USER: "ops", COLIMA_CPUS: "4" }],
    ["comments and blank lines", "# machine\n\n   # indented\nCOLIMA_DISK=60\n", { COLIMA_DISK: "60" }],
    ["a # inside quotes is text", 'LABEL="com.example.colima#1"\n', { LABEL: "com.example.colima#1" }],
    ["a multi-line double-quoted value", 'PRUNE_MODE="dang\nling"\nCOLIMA_CPUS=3\n', { PRUNE_MODE: "dang\nling", COLIMA_CPUS: "3" }],
    [
      "a line without =",
      "HOMEBREW_USER=ops\nCOLIMA_CPUS 4\n",
      /^ - \.env:2: dotenv cannot read this line \(expected KEY=value\): "COLIMA_CPUS 4"$/m,
    ],
    ["a bad line after CRLF lines", "A=1\r\nB=2\r\n=3\r\n", /\.env:3: dotenv cannot read this line/],
    ["a quote never closed", 'HOMEBREW_USER="ops\nCOLIMA_CPUS=4\n', /\.env: a "-quoted value is never closed/],
  ];
  for (const [what, text, expected] of DOTENV) {
    it(`.env: ${what}`, () => {
      if (expected instanceof RegExp) assert.throws(() => parseDotenv(text, ".env"), expected);
      else assert.deepEqual(parseDotenv(text, ".env").values, expected);
    });
  }

  it("an empty .env value is refused like an empty value anywhere", () => {
    assert.deepEqual(settingsProblems([parseDotenv("HOMEBREW_USER=ops\nPRUNE_MODE=\n", ".env")]), [
      'PRUNE_MODE (.env: .env) = "": must not be empty',
    ]);
  });

  /** A project with Pulumi.yaml, .env and a stack file, as `readLayers` reads it. */
  function project(stackYaml: string, env = "HOMEBREW_USER=ops\n"): string {
    const dir = mkdtempSync(join(tmpdir(), "cpulse-config-"));
    mkdirSync(join(dir, "stacks"));
    writeFileSync(
      join(dir, "Pulumi.yaml"),
      "name: colima-pulse\nstackConfigDir: stacks\nconfig:\n  COLIMA_CPUS:\n    default: 2\n  WAIT_QEMU_MAX: 30\n  smokeImage:\n    default: hello-world\n",
    );
    writeFileSync(join(dir, ".env"), env);
    writeFileSync(join(dir, "stacks/Pulumi.mac1.yaml"), stackYaml);
    return dir;
  }

  it("reads Pulumi.yaml defaults, .env and the stack file, keeping only seed-style keys", () => {
    const dir = project("encryptionsalt: x\nconfig:\n  colima-pulse:COLIMA_CPUS: 4\n  colima-pulse:dockerHost: unix:///x\n");
    const layers = readLayers(dir, "mac1");
    assert.deepEqual(layers, [
      { layer: "project", file: "Pulumi.yaml", values: { COLIMA_CPUS: 2, WAIT_QEMU_MAX: 30 } },
      { layer: ".env", file: ".env", values: { HOMEBREW_USER: "ops" } },
      { layer: "stack", file: "stacks/Pulumi.mac1.yaml", values: { COLIMA_CPUS: 4 }, secrets: [] },
    ]);
    assert.equal(resolveSettings(layers).settings.COLIMA_CPUS, 4);
  });

  it("under Pulumi: values from its config, a secret stays [secret], an ESC value is its own layer", () => {
    const dir = project(
      "config:\n  colima-pulse:COLIMA_CPUS:\n    secure: v1:abc\n  colima-pulse:COLIMA_DISK: 120\nenvironment:\n  - fleet/macs\n",
    );
    const engine: EngineConfig = {
      "colima-pulse:COLIMA_CPUS": { value: "3", secret: true },
      "colima-pulse:COLIMA_DISK": { value: "120", secret: false },
      "colima-pulse:WAIT_QEMU_MAX": { value: "30", secret: false }, // the project's own value
      "colima-pulse:WAIT_SOCKET_MAX": { value: "90", secret: false }, // from the ESC environment
      "colima-pulse:LABEL": { value: "com.example.fleet", secret: true }, // a secret of the environment
      "colima-pulse:smokeImage": { value: "hello-world", secret: false },
    };
    const layers = readLayers(dir, "mac1", engine);
    assert.deepEqual(layers.slice(2), [
      {
        layer: "environment",
        file: "ESC fleet/macs via stacks/Pulumi.mac1.yaml",
        values: { WAIT_SOCKET_MAX: "90", LABEL: "com.example.fleet" },
        secrets: ["LABEL"],
      },
      { layer: "stack", file: "stacks/Pulumi.mac1.yaml", values: { COLIMA_CPUS: "3", COLIMA_DISK: "120" }, secrets: ["COLIMA_CPUS"] },
    ]);
    const r = resolveSettings(layers);
    assert.equal(r.settings.COLIMA_CPUS, 3);
    assert.equal(r.settings.WAIT_SOCKET_MAX, 90);
    assert.equal(r.settings.WAIT_QEMU_MAX, 30);
    // The default LOG_PATH names the secret label (/var/log/colima-pulse/com.example.fleet.log): secret too.
    assert.deepEqual(r.secrets.sort(), ["COLIMA_CPUS", "LABEL", "LOG_PATH"]);
    assert.equal(r.sources.COLIMA_CPUS, "stack");
    assert.equal(r.sources.WAIT_SOCKET_MAX, "environment");
    assert.equal(r.sources.WAIT_QEMU_MAX, "project");
    assert.equal(r.sources.HOMEBREW_USER, ".env");
    // A bad secret is named with its layer and file, never shown.
    const bad = readLayers(dir, "mac1", { ...engine, "colima-pulse:COLIMA_CPUS": { value: "99", secret: true } });
    assert.deepEqual(settingsProblems(bad), [
      "COLIMA_CPUS (stack: stacks/Pulumi.mac1.yaml) = [secret]: must be a whole number of CPUs from 1 to 64",
    ]);
  });

  it("a secret setting read without Pulumi is refused by name, not replaced by its default", () => {
    const dir = project("config:\n  colima-pulse:COLIMA_CPUS:\n    secure: v1:abc\n");
    assert.throws(
      () => readLayers(dir, "mac1"),
      /COLIMA_CPUS \(stack: stacks\/Pulumi\.mac1\.yaml\) = \[secret\]: a secret only Pulumi can decrypt/,
    );
  });
});

describe("settings: details of reading values", () => {
  const user = { HOMEBREW_USER: "ops" };

  it("numbers given as text: digits (with spaces around, or .0), nothing JavaScript would also read as a number", () => {
    const cpus = (v: unknown) => resolveSettings([stack({ ...user, COLIMA_CPUS: v })]).settings.COLIMA_CPUS;
    assert.equal(cpus(" 4 "), 4);
    assert.equal(cpus("2.00"), 2);
    assert.equal(cpus(6), 6);
    for (const v of ["0x10", "+5", "5e1", "1e3", "4x", "x4", "Infinity", [4]])
      assert.deepEqual(
        settingsProblems([stack({ ...user, COLIMA_CPUS: v })]),
        [`COLIMA_CPUS (stack: stacks/Pulumi.mac1.yaml) = ${JSON.stringify(v)}: must be a whole number of CPUs from 1 to 64`],
        JSON.stringify(v),
      );
  });

  it("the seed's spellings of a flag", () => {
    const flag = (v: unknown) => resolveSettings([dotenv({ ...user, PRUNE_DOCKER_AFTER_START: v })]).settings.PRUNE_DOCKER_AFTER_START;
    assert.deepEqual(["true", "false", "1", "0", "yes", "no", true, false].map(flag), [true, false, true, false, true, false, true, false]);
    for (const v of ["", "on", "TRUE", 1])
      assert.equal(settingsProblems([dotenv({ ...user, PRUNE_DOCKER_AFTER_START: v })]).length, 1, JSON.stringify(v));
  });

  it("a value of only spaces is empty", () => {
    assert.deepEqual(settingsProblems([stack({ ...user, LABEL: "   " })]), [
      'LABEL (stack: stacks/Pulumi.mac1.yaml) = "   ": must not be empty',
    ]);
  });

  it("the default log: colima.log for the default label, <LABEL>.log for another", () => {
    assert.equal(resolveSettings([stack(user)]).settings.LOG_PATH, "/var/log/colima-pulse/colima.log");
    assert.equal(
      resolveSettings([stack({ ...user, LABEL: "com.example.work" })]).settings.LOG_PATH,
      "/var/log/colima-pulse/com.example.work.log",
    );
    assert.equal(resolveSettings([stack({ ...user, LOG_PATH: "/var/log/x.log" })]).settings.LOG_PATH, "/var/log/x.log");
  });

  it("every danger switch of the seed is refused by name", () => {
    const names = [
      "FULL_RESET",
      "FORCE_YES",
      "NO_CONFIRM",
      "RESET_REQUIRE_CONFIRM",
      "RESET_CONFIRM_TOKEN",
      "CONFIRM_TOKEN",
      "RESET_BACKUP_MODE",
      "BACKUP_MODE",
      "BACKUP",
    ];
    // Each names the command that makes its decision, for one run.
    const yes =
      "to confirm without a prompt, add --yes to the command that asks: `npm run reset -- --yes`, `npm run restore -- <folder> --yes`";
    const asks = "`npm run reset` always asks after its preview; `npm run reset -- --yes` confirms on the command line";
    const backup = "a reset's backup is `npm run reset -- --backup=move` (the default), `--backup=prompt` or `--backup=false`";
    const commands = [
      "a full reset is `npm run reset` (its preview shows what moves where, then it asks)",
      yes,
      yes,
      asks,
      asks,
      asks,
      backup,
      backup,
      backup,
    ];
    assert.deepEqual(
      settingsProblems([stack({ ...user, ...Object.fromEntries(names.map((n) => [n, "1"])) })]),
      names.map(
        (n, i) =>
          `${n} (stack: stacks/Pulumi.mac1.yaml) = "1": a danger switch is not a setting; it is accepted only on the command line, for one run: ${commands[i]} (README: "Safety model")`,
      ),
    );
  });

  it("the error lists every problem on its own line under one heading", () => {
    assert.throws(
      () => resolveSettings([stack({ COLIMA_CPUS: 0 })]),
      (e: unknown) =>
        e instanceof Error &&
        e.message ===
          "Invalid colima-pulse configuration (nothing was run):\n" +
            " - HOMEBREW_USER (no layer sets it): is required\n" +
            " - COLIMA_CPUS (stack: stacks/Pulumi.mac1.yaml) = 0: must be a whole number of CPUs from 1 to 64",
    );
  });

  it("SSH_PORT, SSH_IDENTITY_FILE and SSH_KNOWN_HOSTS_FILE apply only with SSH_HOST: named in the last layer that set them", () => {
    const without = (key: string) =>
      `${key} (stack: stacks/Pulumi.mac1.yaml) = ${key === "SSH_PORT" ? "2222" : '"/etc/k"'}: applies only with SSH_HOST, which no layer sets (without it this Mac is the machine running Pulumi)`;
    assert.deepEqual(
      settingsProblems([
        project({ ...user, SSH_PORT: 22 }),
        dotenv({ SSH_PORT: "2200" }),
        stack({ SSH_PORT: 2222, SSH_IDENTITY_FILE: "/etc/k", SSH_KNOWN_HOSTS_FILE: "/etc/k" }),
      ]),
      [without("SSH_PORT"), without("SSH_IDENTITY_FILE"), without("SSH_KNOWN_HOSTS_FILE")],
    );
    const r = resolveSettings([stack({ ...user, SSH_HOST: "ops@mac-07", SSH_PORT: 2222 })]);
    assert.deepEqual([r.settings.SSH_HOST, r.settings.SSH_PORT], ["ops@mac-07", 2222]);
  });

  it("a LOG_PATH with a space cannot be rotated by newsyslog: refused unless rotation is off", () => {
    assert.deepEqual(
      settingsProblems([
        project({ ...user, LOG_PATH: "/var/log/a b.log" }),
        dotenv({ LOG_PATH: "/var/log/c d.log" }),
        stack({ LOG_PATH: "/var/log/e f.log" }),
      ]),
      [
        'LOG_PATH (stack: stacks/Pulumi.mac1.yaml) = "/var/log/e f.log": has a space, which newsyslog.conf(5) cannot name (its fields are separated by white space); choose a path without spaces, or set LOG_ROTATE_COUNT=0 to rotate the log yourself',
      ],
    );
    assert.equal(
      resolveSettings([stack({ ...user, LOG_PATH: "/var/log/e f.log", LOG_ROTATE_COUNT: 0 })]).settings.LOG_PATH,
      "/var/log/e f.log",
    );
    // A secret path is not shown.
    assert.deepEqual(
      settingsProblems([
        { layer: "stack", file: "stacks/Pulumi.mac1.yaml", values: { ...user, LOG_PATH: "/var/log/e f.log" }, secrets: ["LOG_PATH"] },
      ]),
      [
        "LOG_PATH (stack: stacks/Pulumi.mac1.yaml) = [secret]: has a space, which newsyslog.conf(5) cannot name (its fields are separated by white space); choose a path without spaces, or set LOG_ROTATE_COUNT=0 to rotate the log yourself",
      ],
    );
  });

  it("secrets: only what was given as a secret, and the defaults made from a secret", () => {
    assert.deepEqual(resolveSettings([stack({ ...user, LABEL: "com.example.work" })]).secrets, []);
    const secret = (values: Record<string, unknown>, secrets: string[]) =>
      resolveSettings([{ layer: "stack", file: "stacks/Pulumi.mac1.yaml", values, secrets }]).secrets.sort();
    assert.deepEqual(secret({ ...user, LABEL: "com.example.work" }, ["LABEL"]), ["LABEL", "LOG_PATH"]);
    assert.deepEqual(secret({ ...user, LABEL: "com.example.work", LOG_PATH: "/var/log/com.example.work.log" }, ["LABEL"]), ["LABEL"]);
    assert.deepEqual(secret({ ...user, LABEL: "com.colima-pulse.colima" }, ["LABEL"]), ["LABEL"]);
    assert.deepEqual(secret(user, ["HOMEBREW_USER"]), ["BACKUP_DIR_BASE", "HOMEBREW_USER"]);
    assert.deepEqual(secret({ ...user, BACKUP_DIR_BASE: "/b" }, ["HOMEBREW_USER"]), ["HOMEBREW_USER"]);
    assert.deepEqual(secret({ ...user, COLIMA_CPUS: 3 }, ["COLIMA_CPUS"]), ["COLIMA_CPUS"]);
  });

  it("an unknown setting: a case variant, a near miss or a prefix is suggested, anything else is not", () => {
    const suggestion = (key: string) =>
      /unknown setting(?: \(did you mean ([A-Z_]+)\?\))?; allowed: /.exec(settingsProblems([stack({ ...user, [key]: "1" })])[0] ?? "")?.[1];
    assert.equal(suggestion("ssh_port"), "SSH_PORT");
    assert.equal(suggestion("SSH_PORX"), "SSH_PORT");
    assert.equal(suggestion("LABELS"), "LABEL");
    assert.equal(suggestion("WAIT_SOCKET"), "WAIT_SOCKET_MAX");
    assert.equal(suggestion("SSH_"), "SSH_HOST");
    assert.equal(suggestion("SSH"), undefined);
    assert.equal(suggestion("XXABE"), undefined);
    assert.equal(suggestion("ABCDEFGHIJK"), undefined);
    assert.equal(suggestion("TOTALLY_UNRELATED"), undefined);
    assert.match(
      settingsProblems([stack({ ...user, SSH: "1" })])[0] ?? "",
      /^SSH \(stack: stacks\/Pulumi\.mac1\.yaml\) = "1": unknown setting; allowed: HOMEBREW_USER, /,
    );
  });
});

describe("settings: details of the .env file", () => {
  const cases: [string, string, Record<string, string>][] = [
    ["two spaces after export", "export  HOMEBREW_USER=ops\n", { HOMEBREW_USER: "ops" }],
    ["spaces around =", "COLIMA_CPUS = 4\n", { COLIMA_CPUS: "4" }],
    ["KEY: value", "HOMEBREW_USER: ops\n", { HOMEBREW_USER: "ops" }],
    ["a line of spaces", "HOMEBREW_USER=ops\n   \t\nCOLIMA_CPUS=2\n", { HOMEBREW_USER: "ops", COLIMA_CPUS: "2" }],
  ];
  for (const [what, text, values] of cases) it(`.env: ${what}`, () => assert.deepEqual(parseDotenv(text, ".env").values, values));

  it(".env: a line that starts with anything but a key is refused, naming file and line", () => {
    for (const line of ["$HOMEBREW_USER=ops", '"HOMEBREW_USER"=ops', "!X=1", "KEY:value"])
      assert.throws(
        () => parseDotenv(`A=1\n${line}\n`, ".env"),
        (e: unknown) =>
          e instanceof Error &&
          e.message ===
            `Invalid colima-pulse configuration (nothing was run):\n - .env:2: dotenv cannot read this line (expected KEY=value): ${JSON.stringify(line)}`,
        line,
      );
  });
});

describe("settings: details of reading the layers", () => {
  function dir(files: Record<string, string>): string {
    const d = mkdtempSync(join(tmpdir(), "cpulse-config-"));
    mkdirSync(join(d, "stacks"));
    for (const [f, text] of Object.entries(files)) writeFileSync(join(d, f), text);
    return d;
  }
  const PROJECT = "name: colima-pulse\nstackConfigDir: stacks\nconfig:\n  WAIT_QEMU_MAX: 30\n";

  it("no .env and no stack file: the project layer only", () => {
    assert.deepEqual(readLayers(dir({ "Pulumi.yaml": PROJECT }), "mac1"), [
      { layer: "project", file: "Pulumi.yaml", values: { WAIT_QEMU_MAX: 30 } },
    ]);
  });

  it("a stack file without settings is still the stack's layer; its stack file is in the project's folder without stackConfigDir", () => {
    assert.deepEqual(readLayers(dir({ "Pulumi.yaml": PROJECT, "stacks/Pulumi.mac1.yaml": "encryptionsalt: x\n" }), "mac1").slice(1), [
      { layer: "stack", file: "stacks/Pulumi.mac1.yaml", values: {}, secrets: [] },
    ]);
    assert.deepEqual(
      readLayers(dir({ "Pulumi.yaml": "name: colima-pulse\n", "Pulumi.mac1.yaml": "config:\n  colima-pulse:COLIMA_CPUS: 3\n" }), "mac1"),
      [
        { layer: "project", file: "Pulumi.yaml", values: {} },
        { layer: "stack", file: "Pulumi.mac1.yaml", values: { COLIMA_CPUS: 3 }, secrets: [] },
      ],
    );
  });

  it("only UPPER_SNAKE keys are settings; a key without a value is null", () => {
    const d = dir({
      "Pulumi.yaml":
        "name: colima-pulse\nconfig:\n  proxyURL: x\n  COLIMA_cpus: 1\n  colima-pulse:LABEL:\n    value: com.example.x\n  BACKUP_KEEP:\n",
      "Pulumi.mac1.yaml": "config:\n  colima-pulse:COLIMA_CPUS:\n  colima-pulse:dockerHOST: y\n",
    });
    assert.deepEqual(readLayers(d, "mac1"), [
      { layer: "project", file: "Pulumi.yaml", values: { LABEL: "com.example.x", BACKUP_KEEP: null } },
      { layer: "stack", file: "Pulumi.mac1.yaml", values: { COLIMA_CPUS: null }, secrets: [] },
    ]);
  });

  it("under Pulumi: an ESC value that differs from the project's is the environment's; several environments are all named", () => {
    const d = dir({
      "Pulumi.yaml": PROJECT,
      "stacks/Pulumi.mac1.yaml": "config:\n  colima-pulse:COLIMA_DISK: 120\nenvironment:\n  - fleet/macs\n  - fleet/secrets\n",
    });
    const engine: EngineConfig = {
      "colima-pulse:COLIMA_DISK": { value: "120", secret: false },
      "colima-pulse:WAIT_QEMU_MAX": { value: "45", secret: false },
    };
    assert.deepEqual(readLayers(d, "mac1", engine).slice(1), [
      {
        layer: "environment",
        file: "ESC fleet/macs, fleet/secrets via stacks/Pulumi.mac1.yaml",
        values: { WAIT_QEMU_MAX: "45" },
        secrets: [],
      },
      { layer: "stack", file: "stacks/Pulumi.mac1.yaml", values: { COLIMA_DISK: "120" }, secrets: [] },
    ]);
  });

  it("under Pulumi without an environment in the stack file: the values are Pulumi config's", () => {
    const d = dir({ "Pulumi.yaml": PROJECT, "stacks/Pulumi.mac1.yaml": "config: {}\n" });
    assert.deepEqual(readLayers(d, "mac1", { "colima-pulse:WAIT_SOCKET_MAX": { value: "90", secret: true } })[1], {
      layer: "environment",
      file: "Pulumi config via stacks/Pulumi.mac1.yaml",
      values: { WAIT_SOCKET_MAX: "90" },
      secrets: ["WAIT_SOCKET_MAX"],
    });
  });

  it("a stack value Pulumi marks secret is secret; a config that lacks a stack key keeps the file's value", () => {
    const d = dir({
      "Pulumi.yaml": PROJECT,
      "stacks/Pulumi.mac1.yaml": "config:\n  colima-pulse:COLIMA_DISK: 120\n  colima-pulse:COLIMA_CPUS: 3\n",
    });
    assert.deepEqual(readLayers(d, "mac1", { "colima-pulse:COLIMA_DISK": { value: "120", secret: true } })[1], {
      layer: "stack",
      file: "stacks/Pulumi.mac1.yaml",
      values: { COLIMA_DISK: "120", COLIMA_CPUS: 3 },
      secrets: ["COLIMA_DISK"],
    });
    // scripts/decide.ts (stackProfile) passes {} when the stack has no config yet.
    assert.deepEqual(readLayers(d, "mac1", {})[1], {
      layer: "stack",
      file: "stacks/Pulumi.mac1.yaml",
      values: { COLIMA_DISK: 120, COLIMA_CPUS: 3 },
      secrets: [],
    });
  });
});
