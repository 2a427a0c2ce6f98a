// The Colima versions colima-pulse can drive, from the flags it passes: a Colima that lacks one
// refuses the whole command while its flags parse (`Error: unknown flag: --cpus`, cobra), which
// colima-pulse would only learn halfway through a run — a provisioning start after the old VM was
// stopped, a reset's `colima delete` after the state moved. So the version is checked first, by
// the program before the preview's plan and by the resources before they change anything.
// Sources: abiosoft/colima cmd/start.go (`--cpus` from v0.8.2, commit 581f0f5 "cli: start: rename
// cpu flag to cpus"; `--cpu` before), cmd/status.go (`--json` from v0.8.1, ad5102e), cmd/delete.go
// (`--data` from v0.9.0, 94e18e9 "vm: use external disk for container runtime").

/** A flag colima-pulse passes that Colima did not always have. */
interface NeededFlag {
  /** The command line it is part of. */
  use: string;
  /** The first Colima version that has it. */
  since: string;
  /** What colima-pulse does with it. */
  what: string;
  /** Needed only by a full reset (`npm run reset`). */
  reset?: true;
}

export const NEEDED_FLAGS: NeededFlag[] = [
  { use: "colima start --cpus", since: "0.8.2", what: "it starts the VM with `colima start --cpus`" },
  { use: "colima status --json", since: "0.8.1", what: "it reads the VM's driver with `colima status --json`" },
  { use: "colima delete --data", since: "0.9.0", what: "it deletes the old profile with `colima delete --data`", reset: true },
];

/** Whether version `a` is older than `b`: dotted numbers compared in turn (`0.9.1` < `0.10.0`); a
 *  leading `v` and Homebrew's revision suffix (`_1`) are ignored. */
export function olderVersion(a: string, b: string): boolean {
  const parts = (v: string) => v.replace(/^v/, "").replace(/_\d+$/, "").split(/[.-]/);
  const [pa, pb] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const [x, y] = [pa[i] ?? "0", pb[i] ?? "0"];
    if (x === y) continue;
    const [nx, ny] = [Number(x), Number(y)];
    return Number.isNaN(nx) || Number.isNaN(ny) ? x < y : nx < ny;
  }
  return false;
}

/** The oldest Colima a run can drive: 0.8.2, or 0.9.0 when it carries out a full reset. */
export function minimumColima(reset: boolean): string {
  return NEEDED_FLAGS.filter((f) => reset || !f.reset).reduce((min, f) => (olderVersion(min, f.since) ? f.since : min), "0.0.0");
}

/** Why Colima `installed` cannot do this run (a full reset or not), naming the installed version,
 *  the minimum, the flag behind it and the fix; undefined when it can (or nothing is installed). */
export function colimaTooOld(installed: string | undefined, options: { reset: boolean; user: string }): string | undefined {
  if (!installed) return undefined;
  const min = minimumColima(options.reset);
  if (!olderVersion(installed, min)) return undefined;
  const flag = NEEDED_FLAGS.filter((f) => (options.reset || !f.reset) && olderVersion(installed, f.since)).sort((a, b) =>
    olderVersion(a.since, b.since) ? 1 : -1,
  )[0] as NeededFlag;
  const who = flag.reset ? "npm run reset" : "colima-pulse";
  return (
    `Colima ${installed} is installed; ${who} needs ${min} or later (${flag.what}, which Colima ${flag.since} introduced). ` +
    `Upgrade it: \`npm run upgrade\` (if it finds nothing newer, run \`brew update\` as ${options.user} first)${flag.reset ? ", then the reset again" : ""}.`
  );
}
