/**
 * Assembles one outgoing packet from a plan — which frames, in which order — into a Buffer of
 * exactly the right size, copying stream bytes straight from the send buffer (one copy, no
 * intermediate Buffers). The channel decides what goes in; this file only knows the layout.
 */
import { MAX_ACK_RANGES } from "./constants.js";
import {
  ackFrameSize,
  closeFrameSize,
  FrameType,
  maxDataFrameSize,
  writeAckFrame,
  writeCloseFrame,
  writeMaxDataFrame,
  writeStreamToEndHeader,
} from "./packet.js";
import type { SendBuffer } from "./send-buffer.js";
import { varintSize, writeVarint } from "./varint.js";

export interface PacketPlan {
  pn: number;
  /** Received ranges to acknowledge (RangeSet layout), or null for no ACK frame. */
  ackRanges: readonly number[] | null;
  ackDelayUs: number;
  /** MAX_DATA value, or -1. */
  maxData: number;
  ping: boolean;
  /** CLOSE reason bytes, or null. */
  close: Buffer | null;
  /** Stream bytes [streamOffset, streamOffset + streamLen) from the send buffer; 0 for none. */
  streamOffset: number;
  streamLen: number;
  /** Pad the packet to exactly this many bytes (PMTU probes); 0 for no padding. */
  padTo: number;
}

/** A plan with nothing in it, for callers to fill in. */
export function emptyPlan(pn: number): PacketPlan {
  return {
    pn,
    ackRanges: null,
    ackDelayUs: 0,
    maxData: -1,
    ping: false,
    close: null,
    streamOffset: 0,
    streamLen: 0,
    padTo: 0,
  };
}

/** Bytes taken by everything in the plan except stream data and padding. */
export function controlSize(plan: PacketPlan): number {
  let size = varintSize(plan.pn);
  if (plan.ackRanges !== null) size += ackFrameSize(plan.ackRanges, plan.ackDelayUs, MAX_ACK_RANGES);
  if (plan.maxData >= 0) size += maxDataFrameSize(plan.maxData);
  if (plan.ping) size += 1;
  if (plan.close !== null) size += closeFrameSize(plan.close);
  return size;
}

/** Stream frame overhead when the largest possible offset is `maxOffset`. */
export function streamHeaderBound(maxOffset: number): number {
  return 1 + varintSize(maxOffset);
}

/**
 * Where buildPacket puts packets: `headroom` free bytes in front of each, and optionally one
 * reused buffer instead of a new one per packet (the caller consumes each packet before the next).
 */
export class PacketArena {
  private scratch: Buffer | undefined;

  constructor(
    readonly headroom = 0,
    private readonly reuse = false,
  ) {}

  /** A Buffer of exactly headroom + size bytes. */
  take(size: number): Buffer {
    const total = this.headroom + size;
    if (!this.reuse) return Buffer.allocUnsafe(total);
    if (this.scratch === undefined || this.scratch.length < total) {
      this.scratch = Buffer.allocUnsafe(Math.max(total, 2048));
    }
    return this.scratch.subarray(0, total);
  }
}

const PLAIN = new PacketArena();

/** The packet of `plan`, at offset `arena.headroom` of the returned Buffer. */
export function buildPacket(plan: PacketPlan, source: SendBuffer, arena: PacketArena = PLAIN): Buffer {
  let size = controlSize(plan);
  if (plan.streamLen > 0) size += 1 + varintSize(plan.streamOffset) + plan.streamLen;
  if (plan.padTo > size) size = plan.padTo;
  const buf = arena.take(size);
  size += arena.headroom;
  let pos = writeVarint(buf, arena.headroom, plan.pn);
  if (plan.ackRanges !== null) {
    pos = writeAckFrame(buf, pos, plan.ackRanges, plan.ackDelayUs, MAX_ACK_RANGES);
  }
  if (plan.maxData >= 0) pos = writeMaxDataFrame(buf, pos, plan.maxData);
  if (plan.ping) buf[pos++] = FrameType.PING;
  if (plan.close !== null) pos = writeCloseFrame(buf, pos, plan.close);
  if (plan.streamLen > 0) {
    // Last: a STREAM frame that runs to the end of the packet needs no length field.
    pos = writeStreamToEndHeader(buf, pos, plan.streamOffset);
    source.copy(plan.streamOffset, plan.streamLen, buf, pos);
    pos += plan.streamLen;
  }
  if (pos < size) buf.fill(FrameType.PADDING, pos);
  return buf;
}
