// A loopback port nothing listens on: a Mac out of reach for the fleet tests.
import { createServer } from "node:net";

/** A port taken on 127.0.0.1, then let go. */
export function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
