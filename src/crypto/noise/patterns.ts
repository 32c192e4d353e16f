/**
 * The handshake patterns this engine knows (Noise spec §7). p2ptun uses IK; NN, XX, IX and IKpsk2
 * are here because they cost one line each and let the engine be checked against more vectors.
 */
export type Token = "e" | "s" | "ee" | "es" | "se" | "ss" | "psk";

export interface HandshakePattern {
  readonly name: string;
  /** Pre-message keys the initiator's peer knows (e.g. nothing) and the responder's (IK: `s`). */
  readonly initiatorPre: readonly ("e" | "s")[];
  readonly responderPre: readonly ("e" | "s")[];
  /** Messages in order; even indices are written by the initiator. */
  readonly messages: readonly (readonly Token[])[];
}

const IK_MESSAGES: Token[][] = [
  ["e", "es", "s", "ss"],
  ["e", "ee", "se"],
];

export const PATTERNS: Readonly<Record<string, HandshakePattern>> = {
  NN: { name: "NN", initiatorPre: [], responderPre: [], messages: [["e"], ["e", "ee"]] },
  IK: { name: "IK", initiatorPre: [], responderPre: ["s"], messages: IK_MESSAGES },
  XX: {
    name: "XX",
    initiatorPre: [],
    responderPre: [],
    messages: [["e"], ["e", "ee", "s", "es"], ["s", "se"]],
  },
  IX: {
    name: "IX",
    initiatorPre: [],
    responderPre: [],
    messages: [
      ["e", "s"],
      ["e", "ee", "se", "s", "es"],
    ],
  },
  IKpsk2: {
    name: "IKpsk2",
    initiatorPre: [],
    responderPre: ["s"],
    messages: [IK_MESSAGES[0], [...IK_MESSAGES[1], "psk"]],
  },
};

export interface ProtocolName {
  pattern: HandshakePattern;
  dh: string;
  cipher: string;
  hash: string;
}

/** Splits `Noise_IK_25519_ChaChaPoly_BLAKE2s`; returns undefined for anything this engine lacks. */
export function parseProtocolName(name: string): ProtocolName | undefined {
  const parts = name.split("_");
  if (parts.length !== 5 || parts[0] !== "Noise") return undefined;
  const pattern = PATTERNS[parts[1]];
  if (!pattern || parts[2] !== "25519" || parts[3] !== "ChaChaPoly") return undefined;
  return { pattern, dh: parts[2], cipher: parts[3], hash: parts[4] };
}
