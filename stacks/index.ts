// The program `pulumi up` runs: one stack per Mac (stacks/Pulumi.<machine>.yaml), fleet-wide
// defaults in Pulumi.yaml, optional .env (stacks/config.ts). Bad settings stop it here, before
// any resource exists or any command runs.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { ColimaPulse, type InstallerSpec } from "../components/colimaPulse";
import { ConfigError, readLayers, resolveSettings } from "./config";

function settings() {
  try {
    return resolveSettings(readLayers(resolve(__dirname, ".."), pulumi.getStack()));
  } catch (e) {
    if (e instanceof ConfigError) throw new pulumi.RunError(e.message);
    throw e;
  }
}

// "/" on a Mac. The simulator (scripts/simulate.ts, the tests) points it at the simulated Mac.
const hostRoot = process.env.COLIMA_PULSE_HOST_ROOT || "/";
if (!hostRoot.startsWith("/"))
  throw new pulumi.RunError(`COLIMA_PULSE_HOST_ROOT (environment) = ${JSON.stringify(hostRoot)}: must be an absolute path`);

/** containers/<name>/ folders with an install.sh, each with a hash of its files. */
function installers(): InstallerSpec[] {
  const base = resolve(__dirname, "../containers");
  if (!existsSync(base)) return [];
  return readdirSync(base, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(base, d.name, "install.sh")))
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((d) => {
      const dir = join(base, d.name);
      const hash = createHash("sha256");
      for (const file of readdirSync(dir, { recursive: true, encoding: "utf8" }).sort()) {
        const path = join(dir, file);
        if (statSync(path).isFile()) hash.update(file).update("\0").update(readFileSync(path)).update("\0");
      }
      return { name: d.name, dir, filesHash: hash.digest("hex") };
    });
}

const config = new pulumi.Config();
const { settings: machine, sources } = settings();
const pulse = new ColimaPulse("colima", {
  settings: machine,
  hostRoot,
  smoke: { image: config.require("smokeImage"), expectOutput: config.require("smokeExpectOutput") },
  installers: installers(),
  // Per-installer environment; `pulumi config set --secret --path installerEnv.<name>.<VAR> …`.
  installerEnv: config.getSecretObject<Record<string, Record<string, string>>>("installerEnv"),
});

export const dockerHost = pulse.dockerHost;
export const dockerVersion = pulse.dockerVersion;
export const colimaVersion = pulse.colimaVersion;
export const driver = pulse.driver;
export const gateTimings = pulse.gateTimings;
export const fileVault = pulse.fileVault;
export const fileVaultNote = pulse.fileVaultNote;
export const launchdLabel = pulse.launchdLabel;
export const smokeImageDigest = pulse.smokeImageDigest;
export const settingSources = sources;
