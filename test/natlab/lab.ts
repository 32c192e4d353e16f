/**
 * NAT lab: a small internet of network namespaces that a test creates and destroys by itself.
 * See README.md in this folder for the topology, hop counts and what each NAT kind really does.
 */
import { afterAll, beforeAll, describe, it } from "vitest";
import { Lab, type LabOptions, listNamespaces, natlabAvailableSync } from "./lab-core.js";

export * from "./lab-core.js";
export { Agent, tcpConnect, udpExchange, waitUntil } from "./lab-probes.js";

/**
 * `describe` for NAT-lab suites. Without the lab's requirements the suite is skipped with a
 * console warning; with P2PTUN_REQUIRE_NATLAB=1 (CI on a capable machine) it fails instead.
 */
export function describeNatlab(name: string, fn: () => void): void {
  const { ok, why } = natlabAvailableSync();
  if (ok) {
    describe(name, fn);
  } else if (process.env.P2PTUN_REQUIRE_NATLAB === "1") {
    describe(name, () => {
      it("has a usable NAT lab (P2PTUN_REQUIRE_NATLAB=1)", () => {
        throw new Error(`natlab unavailable: ${why}`);
      });
    });
  } else {
    console.warn(`[natlab] skipping "${name}": ${why}`);
    // Skipped, not failed, only outside CI: the lab needs root, ip, nft and conntrack, which a
    // developer's machine may lack. CI sets P2PTUN_REQUIRE_NATLAB=1, which turns this into a failure.
    describe.skip(name, fn);
  }
}

/** Creates a lab before the enclosing describe's tests and destroys it after them. */
export function useLab(opts: LabOptions): { readonly lab: Lab } {
  let lab: Lab | undefined;
  beforeAll(async () => {
    lab = await Lab.create(opts);
  });
  afterAll(async () => {
    await lab?.destroy();
  });
  return {
    get lab(): Lab {
      if (!lab) throw new Error("useLab: the lab exists only inside tests and hooks");
      return lab;
    },
  };
}

/** A file-level afterAll that fails if this process left any lab namespace behind. */
export function failOnLeftoverNamespaces(): void {
  afterAll(() => {
    if (!natlabAvailableSync().ok) return;
    const left = listNamespaces().filter((n) => n.startsWith(`p2p${process.pid}x`));
    if (left.length > 0) throw new Error(`natlab namespaces left behind: ${left.join(", ")}`);
  });
}
