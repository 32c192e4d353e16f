/**
 * The mux compliance suite over two real reliable channels (src/tunnel/reliable) joined by an
 * in-memory datagram link, clean and with seeded random loss: the UDP path minus sockets and
 * encryption.
 */
import { EventEmitter } from "node:events";
import type { ByteChannel } from "../../src/tunnel/channel.js";
import { ReliableChannel, ReliableDriver } from "../../src/tunnel/reliable/index.js";
import { systemClock } from "../../src/util/clock.js";
import { muxComplianceSuite } from "./mux-compliance.js";

/** The reliable driver as a ByteChannel ('dead' reads as 'close'). */
class DriverChannel extends EventEmitter implements ByteChannel {
  constructor(private readonly driver: ReliableDriver) {
    super();
    driver.on("data", (d) => this.emit("data", d));
    driver.on("drain", () => this.emit("drain"));
    driver.on("dead", (why) => this.emit("close", `channel dead: ${why}`));
    driver.on("close", (why) => this.emit("close", why || "channel closed"));
  }
  write(data: Buffer): boolean {
    return this.driver.write(data);
  }
  close(reason?: string): void {
    this.driver.close(reason);
  }
}

/** xorshift32: reproducible loss patterns. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

let seed = 1;

/** Two reliable channels; each datagram is dropped with probability `loss`, else delivered next turn. */
function reliablePair(loss: number): [ByteChannel, ByteChannel] {
  const random = prng(seed++);
  const now = systemClock.now();
  const drivers: ReliableDriver[] = [];
  const link = (to: number) => (datagram: Buffer) => {
    if (random() < loss) return;
    const copy = Buffer.from(datagram); // the sender may reuse its buffer
    setImmediate(() => drivers[to].input(copy));
  };
  drivers.push(new ReliableDriver(new ReliableChannel({ now, maxDatagramSize: 1400 }), { send: link(1) }));
  drivers.push(new ReliableDriver(new ReliableChannel({ now, maxDatagramSize: 1400 }), { send: link(0) }));
  return [new DriverChannel(drivers[0]), new DriverChannel(drivers[1])];
}

muxComplianceSuite("reliable channel over a clean link", () => reliablePair(0));
muxComplianceSuite("reliable channel over a link losing 5% of datagrams", () => reliablePair(0.05));
