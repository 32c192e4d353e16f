/**
 * A datagram as the pieces it is sent in. A session DATA packet is three pieces (header,
 * ciphertext, tag) that the kernel gathers in one sendmsg: joining them first would cost a copy
 * and one more short-lived allocation per packet, the garbage that sets a bulk transfer's peak
 * RSS (see Keypair.seal). Everything else is one Buffer. Pieces are read-only once handed over.
 */
export type Datagram = Buffer | readonly Buffer[];

export function datagramLength(d: Datagram): number {
  if (Buffer.isBuffer(d)) return d.length;
  let n = 0;
  for (let i = 0; i < d.length; i++) n += d[i].length;
  return n;
}

/** The datagram as one Buffer: itself when it is one, else a copy of its pieces. */
export function joinDatagram(d: Datagram): Buffer {
  return Buffer.isBuffer(d) ? d : Buffer.concat(d as Buffer[]);
}
