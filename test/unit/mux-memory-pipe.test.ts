import { describe, expect, it } from "vitest";
import { type ByteChannel, memoryPipe } from "../../src/tunnel/channel.js";

function collect(ch: ByteChannel): Buffer[] {
  const got: Buffer[] = [];
  ch.on("data", (d) => got.push(d));
  return got;
}

function next(ch: ByteChannel, event: "close" | "drain"): Promise<string | undefined> {
  return new Promise((resolve) => ch.on(event as "close", resolve));
}

describe("memoryPipe", () => {
  it("delivers bytes in order, asynchronously, in pieces no larger than `chunk`", async () => {
    const [a, b] = memoryPipe({ chunk: 7 });
    const got = collect(b);
    a.write(Buffer.from("hello "));
    a.write(Buffer.from("world, in pieces"));
    expect(got).toEqual([]); // nothing synchronously
    a.close("done");
    const reason = await next(b, "close");
    expect(reason).toBe("done");
    expect(Buffer.concat(got).toString()).toBe("hello world, in pieces");
    expect(Math.max(...got.map((g) => g.length))).toBeLessThanOrEqual(7);
  });

  it("returns false above the high-water mark and emits drain once delivered", async () => {
    const [a, b] = memoryPipe({ highWaterMark: 100 });
    const got = collect(b);
    expect(a.write(Buffer.alloc(60))).toBe(true);
    expect(a.write(Buffer.alloc(60))).toBe(false);
    await next(a, "drain");
    // Drain fires once the backlog is below the mark; the rest follows on the next turn.
    expect(Buffer.concat(got).length).toBeGreaterThan(20);
    await new Promise((r) => setImmediate(r));
    expect(Buffer.concat(got).length).toBe(120);
  });

  it("delivers what was written before close, closes both ends once, then refuses writes", async () => {
    const [a, b] = memoryPipe();
    const got = collect(b);
    let aCloses = 0;
    a.on("close", () => aCloses++);
    a.write(Buffer.from("last words"));
    a.close("bye");
    a.close("again");
    const [ra, rb] = await Promise.all([next(a, "close"), next(b, "close")]);
    expect([ra, rb]).toEqual(["bye", "bye"]);
    expect(Buffer.concat(got).toString()).toBe("last words");
    expect(a.write(Buffer.from("x"))).toBe(false);
    expect(b.write(Buffer.from("x"))).toBe(false);
    await new Promise((r) => setImmediate(r));
    expect(aCloses).toBe(1);
  });
});
