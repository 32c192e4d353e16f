/** Small TCP services the demo and the tests put behind a forward. */
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:net";

async function listen(server: Server, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => resolve());
  });
  return (server.address() as { port: number }).port;
}

/** Echoes every byte back. */
export async function startEchoServer(host = "127.0.0.1"): Promise<{ port: number; server: Server }> {
  const server = createServer({ allowHalfOpen: true }, (s) => {
    s.on("error", () => {});
    s.pipe(s);
  });
  return { port: await listen(server, host), server };
}

/** Reads everything, then answers with `<bytes> <sha256 hex>\n`: proves what arrived, byte-exact. */
export async function startDigestServer(
  host = "127.0.0.1",
): Promise<{ port: number; server: Server; connections: () => number }> {
  let connections = 0;
  const server = createServer({ allowHalfOpen: true }, (s) => {
    connections++;
    const h = createHash("sha256");
    let n = 0;
    s.on("error", () => {});
    s.on("data", (d: Buffer) => {
      n += d.length;
      h.update(d);
    });
    s.on("end", () => s.end(`${n} ${h.digest("hex")}\n`));
  });
  return { port: await listen(server, host), server, connections: () => connections };
}
