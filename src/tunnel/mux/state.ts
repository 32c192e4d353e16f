/** Per-stream state of the mux core, and the core's counters. Plain data, no behaviour. */
import type { ByteQueue } from "./byte-queue.js";
import type { ReceiveWindow } from "./flow.js";

/** `opening`: we sent OPEN; `incoming`: we got OPEN and have not answered; `open`: accepted. */
export type Phase = "opening" | "incoming" | "open";

export interface StreamState {
  id: number;
  phase: Phase;
  send: ByteQueue;
  /** Bytes the peer allows us to send. */
  sendCredit: number;
  finQueued: boolean;
  finSent: boolean;
  finReceived: boolean;
  recv: ReceiveWindow;
  /** In the round-robin ready queue. */
  scheduled: boolean;
}

export interface MuxCounters {
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  dataBytesIn: number;
  dataBytesOut: number;
  streamsOpened: number;
  streamsAccepted: number;
  streamsRefused: number;
  resetsSent: number;
  resetsReceived: number;
  /** Frames for streams that already ended (a normal race with a reset); dropped. */
  staleFrames: number;
  protocolErrors: number;
  windowGrowths: number;
}

export function zeroCounters(): MuxCounters {
  return {
    framesIn: 0,
    framesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    dataBytesIn: 0,
    dataBytesOut: 0,
    streamsOpened: 0,
    streamsAccepted: 0,
    streamsRefused: 0,
    resetsSent: 0,
    resetsReceived: 0,
    staleFrames: 0,
    protocolErrors: 0,
    windowGrowths: 0,
  };
}
