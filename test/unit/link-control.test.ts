/** LinkControl: both peers agree on one link, and only a real need replaces it. */
import { describe, expect, it } from "vitest";
import { type LinkAction, LinkControl } from "../../src/daemon/link-control.js";
import { INNER } from "../../src/wire/inner.js";

function counter(start: number) {
  let n = start;
  return () => n++;
}

/** Delivers sends from one side to the other until quiet; returns the ids each side created. */
function exchange(a: LinkControl, b: LinkControl, fromA: LinkAction[], fromB: LinkAction[]) {
  const created = { a: [] as number[], b: [] as number[] };
  let qa = fromA;
  let qb = fromB;
  for (let round = 0; round < 20 && (qa.length > 0 || qb.length > 0); round++) {
    const nextB: LinkAction[] = [];
    const nextA: LinkAction[] = [];
    for (const x of qa) {
      if (x.type === "create") created.a.push(x.id);
      else nextB.push(...b.handle(x.payload[0], x.payload.readUInt32BE(1), round));
    }
    for (const x of qb) {
      if (x.type === "create") created.b.push(x.id);
      else nextA.push(...a.handle(x.payload[0], x.payload.readUInt32BE(1), round));
    }
    qa = nextA;
    qb = nextB;
  }
  return created;
}

describe("LinkControl", () => {
  it("a follower's REQUEST crossing the leader's OPEN at session start makes one link, not two", () => {
    const leader = new LinkControl(true, counter(100));
    const follower = new LinkControl(false, counter(500));
    const created = exchange(leader, follower, leader.sessionUp(0), follower.sessionUp(0));
    expect(created.a).toEqual([100]);
    expect(created.b).toEqual([100]);
    expect(leader.current).toBe(100);
    expect(follower.current).toBe(100);
  });

  it("a follower whose link died (or that restarted) gets a fresh link once", () => {
    const leader = new LinkControl(true, counter(100));
    const follower = new LinkControl(false, counter(500));
    exchange(leader, follower, leader.sessionUp(0), follower.sessionUp(0));
    const created = exchange(leader, follower, [], follower.needLink(1));
    expect(created.a).toEqual([101]);
    expect(created.b).toEqual([101]);
    // The same REQUEST repeated (its answer was slow) does not replace the link again.
    const again = leader.handle(INNER.LINK_REQUEST, 500 + 1, 2);
    expect(again.some((x) => x.type === "create")).toBe(false);

    const restarted = new LinkControl(false, counter(900));
    const c2 = exchange(leader, restarted, leader.sessionUp(3), restarted.sessionUp(3));
    expect(c2.a).toEqual([102]);
    expect(restarted.current).toBe(102);
  });

  it("a re-handshake on a live link keeps it", () => {
    const leader = new LinkControl(true, counter(100));
    const follower = new LinkControl(false, counter(500));
    exchange(leader, follower, leader.sessionUp(0), follower.sessionUp(0));
    const created = exchange(leader, follower, leader.sessionUp(5), follower.sessionUp(5));
    expect(created).toEqual({ a: [], b: [] });
    expect(leader.current).toBe(100);
  });
});
