// provider/lib/mac.ts against a simulated Mac, through both transports: locally (this process as
// root, sudo to the Homebrew user; or as that user) and over a real OpenSSH server (as another
// admin, sudo to the Homebrew user; or as that user), which gives a command macOS's PATH
// (test/helpers/sshd.ts MAC_SSH_PATH). What the providers run as the Homebrew user must find
// Homebrew's tools whatever PATH the transport gave: Colima looks Lima up on PATH.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Mac, macOf } from "../../../provider/lib/mac";
import { testServices } from "../../helpers/services";
import { type Sshd, startSshd } from "../../helpers/sshd";
import { MacSimulator } from "../../simulator/simulator";

let sim: MacSimulator;
let sshd: Sshd;

before(async () => {
  sim = await MacSimulator.create({
    dockerTarget: testServices().dockerHost.replace(/^unix:\/\//, ""),
    formulae: ["colima", "qemu", "docker"],
    users: {
      ops: { uid: 501, gid: 20, admin: true, sudo: "nopasswd" },
      admin: { uid: 502, gid: 20, admin: true, sudo: "nopasswd" },
    },
  });
  sshd = await startSshd({ keys: { admin: { env: { SIM_USER: "admin" } }, ops: { env: { SIM_USER: "ops" } } } });
});
after(async () => {
  await sshd?.dispose();
  await sim?.dispose();
});

/** The Mac as the providers reach it over SSH, logged in with `key` (which is that simulated user). */
function overSsh(key: "admin" | "ops"): Mac {
  const ssh = {
    destination: `${sshd.loginUser}@127.0.0.1`,
    port: sshd.port,
    identityFile: sshd.keys[key]?.identityFile as string,
    knownHostsFile: sshd.knownHostsFile,
  };
  return macOf({ root: sim.root, user: "ops", ssh });
}

/** The Mac as a provider running here reaches it, as this process's simulated user (SIM_USER).
 *  The Homebrew user's own run spells the root with a trailing slash: the same Mac (hostPath drops
 *  the slash), but a Mac object of its own, which asks `id -un` afresh. */
const local = (as: "root" | "ops"): Mac => macOf({ root: as === "root" ? sim.root : `${sim.root}/`, user: "ops" });

/** Each transport: how to reach the Mac, and the simulated user this process is meanwhile. */
const transports: { name: string; me: string; reach: () => Mac }[] = [
  { name: "locally as root (sudo -u ops)", me: "root", reach: () => local("root") },
  { name: "locally as ops", me: "ops", reach: () => local("ops") },
  { name: "over SSH as admin (sudo -u ops)", me: "admin", reach: () => overSsh("admin") },
  { name: "over SSH as ops", me: "ops", reach: () => overSsh("ops") },
];

/** Runs `fn` as simulated user `user` of this process (local commands inherit SIM_USER). */
async function asSimUser<T>(user: string, fn: () => Promise<T>): Promise<T> {
  const was = process.env.SIM_USER;
  process.env.SIM_USER = user;
  try {
    return await fn();
  } finally {
    if (was === undefined) delete process.env.SIM_USER;
    else process.env.SIM_USER = was;
  }
}

describe("commands run as the Homebrew user find Homebrew's tools, whatever PATH the transport gave", () => {
  for (const { name, me, reach } of transports) {
    it(`${name}: PATH is the Homebrew prefix's bin and sbin, then macOS's; colima finds Lima`, () =>
      asSimUser(name.startsWith("locally") ? me : "root", async () => {
        const mac = reach();
        assert.equal(await mac.currentUser(), me);
        const prefix = sim.world.brewPrefix();
        const status = await mac.asUser([`${prefix}/bin/colima`, "status", "--profile", "default", "--json"], { allowFailure: true });
        assert.equal(status.exitCode, 1, status.stderr);
        assert.match(status.stderr, /level=fatal msg="colima is not running"/);
        const env = await mac.asUser([sim.path("/usr/bin/env")]);
        const path = env.stdout.split("\n").find((l) => l.startsWith("PATH="));
        const system = ["/usr/bin", "/bin", "/usr/sbin", "/sbin"].map((d) => sim.path(d));
        assert.equal(path, `PATH=${[`${prefix}/bin`, `${prefix}/sbin`, ...system].join(":")}`);
      }));
  }
});
