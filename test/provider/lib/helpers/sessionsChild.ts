// One process of test/provider/lib/transports.test.ts's "processes" case: runs `count` commands at
// once to the Mac over SSH, as a provider process does, each counting the commands of this process
// running beside it (folders in `dir`). Prints one line of JSON: what failed, the counts.
// Usage: node --import tsx sessionsChild.ts '<json: { root, ssh, bin, dir, count }>'

import type { SshTarget } from "../../../../provider/lib/host";
import { macOf } from "../../../../provider/lib/mac";

const { root, ssh, bin, dir, count } = JSON.parse(process.argv[2] ?? "{}") as {
  root: string;
  ssh: SshTarget;
  bin: string;
  dir: string;
  count: number;
};
const script = 'mkdir "$1/$$" && ls "$1" | wc -l && sleep 0.5; rmdir "$1/$$"';

async function main(): Promise<void> {
  const mac = macOf({ root, user: "ops", ssh });
  const runs = await Promise.allSettled(Array.from({ length: count }, () => mac.run([bin, "-c", script, "sh", dir])));
  const failed = runs.flatMap((r) => (r.status === "rejected" ? [(r.reason as Error).message] : []));
  const counts = runs.map((r) => (r.status === "fulfilled" ? Number(r.value.stdout.trim()) : 0));
  process.stdout.write(`${JSON.stringify({ failed, counts })}\n`);
}
void main();
