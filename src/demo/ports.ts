import { createSocket } from "node:dgram";
import { createServer } from "node:net";

/**
 * A port that is free for both TCP and UDP on `host` right now (the introducer listens on both).
 * There is a window in which someone else may take it; callers on loopback accept that.
 */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const tcp = createServer();
    const port = await new Promise<number>((resolve, reject) => {
      tcp.once("error", reject);
      tcp.listen(0, host, () => resolve((tcp.address() as { port: number }).port));
    });
    const udp = createSocket("udp4");
    const ok = await new Promise<boolean>((resolve) => {
      udp.once("error", () => resolve(false));
      udp.bind(port, host, () => resolve(true));
    });
    await new Promise<void>((r) => tcp.close(() => r()));
    if (ok) {
      await new Promise<void>((r) => udp.close(() => r()));
      return port;
    }
    udp.close();
  }
  throw new Error("no free port found");
}
