// The operator's side of test/security/sshTransport.test.ts: one command through the SSH transport
// (provider/lib/mac.ts), as the provider runs it, in a process of its own (the test starts it in a
// private mount namespace whose /tmp is the test's). Prints the outcome as one line of JSON.
// Usage: node --import tsx sshVictim.ts '<json: { ssh, argv, input? }>'
import { macOf } from "../../../provider/lib/mac";

const { ssh, argv, input } = JSON.parse(process.argv[2] ?? "{}") as {
  ssh: { destination: string; port: number; identityFile: string; knownHostsFile: string };
  argv: string[];
  input?: string;
};
async function main(): Promise<void> {
  try {
    const mac = macOf({ root: "/", user: "nobody-cares", ssh });
    const r = await mac.run(argv, { allowFailure: true, input, timeoutMs: 30_000 });
    process.stdout.write(`${JSON.stringify({ ok: true, exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr })}\n`);
  } catch (e) {
    const err = e as Error;
    process.stdout.write(`${JSON.stringify({ ok: false, name: err.name, message: err.message })}\n`);
  }
}
void main();
