import { describe, expect, it } from "vitest";
import {
  refusalCodeFromWire,
  refusalCodeToWire,
  STREAM_REFUSAL_CODES,
  StreamRefusedError,
  toStreamRefused,
} from "../../src/tunnel/stream-errors.js";
import { P2pError } from "../../src/util/errors.js";

describe("stream refusal codes", () => {
  it("keeps the wire numbers the mux relies on", () => {
    expect(STREAM_REFUSAL_CODES).toEqual({
      NOT_ALLOWED: 1,
      CONNECTION_REFUSED: 2,
      HOST_UNREACHABLE: 3,
      NAME_NOT_RESOLVED: 4,
      NETWORK_UNREACHABLE: 5,
      TIMEOUT: 6,
      PEER_NOT_CONNECTED: 7,
      INTERNAL: 8,
      CANCELLED: 9,
      BAD_TARGET: 10,
    });
  });

  it("round-trips every code through its number; unknown numbers read as INTERNAL", () => {
    for (const code of Object.keys(STREAM_REFUSAL_CODES) as (keyof typeof STREAM_REFUSAL_CODES)[])
      expect(refusalCodeFromWire(refusalCodeToWire(code))).toBe(code);
    expect(refusalCodeFromWire(0)).toBe("INTERNAL");
    expect(refusalCodeFromWire(999)).toBe("INTERNAL");
  });

  it("StreamRefusedError is a P2pError with a stable code and reason", () => {
    const e = new StreamRefusedError("TIMEOUT", "took too long");
    expect(e).toBeInstanceOf(P2pError);
    expect([e.code, e.reason, e.wireCode, e.name]).toEqual([
      "TIMEOUT",
      "took too long",
      6,
      "StreamRefusedError",
    ]);
  });

  it.each([
    [{ code: 2, reason: "from the mux" }, "CONNECTION_REFUSED", "from the mux"],
    [{ code: "PEER_NOT_CONNECTED", reason: "no path" }, "PEER_NOT_CONNECTED", "no path"],
    [
      Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }),
      "CONNECTION_REFUSED",
      "connect ECONNREFUSED",
    ],
    [Object.assign(new Error("x"), { code: "EHOSTUNREACH" }), "HOST_UNREACHABLE", "x"],
    [Object.assign(new Error("x"), { code: "ENETUNREACH" }), "NETWORK_UNREACHABLE", "x"],
    [Object.assign(new Error("x"), { code: "ETIMEDOUT" }), "TIMEOUT", "x"],
    [Object.assign(new Error("x"), { code: "ENOTFOUND" }), "NAME_NOT_RESOLVED", "x"],
    [Object.assign(new Error("x"), { code: "EAI_AGAIN" }), "NAME_NOT_RESOLVED", "x"],
    [new Error("boom"), "INTERNAL", "boom"],
    ["a string", "INTERNAL", "a string"],
    [null, "INTERNAL", "null"],
  ])("reads %j as %s", (input, code, reason) => {
    const e = toStreamRefused(input);
    expect([e.code, e.reason]).toEqual([code, reason]);
  });

  it("passes a StreamRefusedError through unchanged", () => {
    const e = new StreamRefusedError("BAD_TARGET", "no");
    expect(toStreamRefused(e)).toBe(e);
  });
});
