/**
 * Issue 6, "Surviving": memory and CPU stay flat over a long run. 30 minutes (P2PTUN_SOAK_MINUTES)
 * of mixed traffic through a punched tunnel under 30 s UDP conntrack timeouts: digest transfers of
 * 1–16 MB back to back, and echo sessions of small messages beside them, every one checked
 * byte-exact. joe's and bob's RSS (/proc/<pid>/status) and CPU time are sampled every 5 s and
 * printed per minute. The bound is on peaks: after minute 5 (P2PTUN_SOAK_WARMUP_MINUTES; a third
 * of the run when that is shorter) the highest RSS of the second half must stay within 10 % of
 * the highest of the first half. RSS rises with each bigger burst and never falls back (the
 * allocator keeps the pages), so two single points can differ by a burst; a leak makes every
 * later peak higher. Runs only with P2PTUN_SOAK=1: it takes half an hour.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { describeNatlab, failOnLeftoverNamespaces, useLab, waitUntil } from "./lab.js";
import { expectedDigest, P2pWorld } from "./p2p-world.js";
import { sleep, startConnected } from "./resilience-helpers.js";

failOnLeftoverNamespaces();

const SOAK = process.env.P2PTUN_SOAK === "1";
const MINUTES = Number(process.env.P2PTUN_SOAK_MINUTES ?? 30);
const WARMUP = Number(
  process.env.P2PTUN_SOAK_WARMUP_MINUTES ?? Math.min(5, Math.round((MINUTES / 3) * 10) / 10),
);
const ECHO_PORT = 7001;
const ECHO_FORWARD = 2201;
const ECHO_CLIENT = join(import.meta.dirname, "resilience-echo-client.mjs");
const TARGET_SERVER = join(import.meta.dirname, "target-server.mjs");

interface Sample {
  t: number;
  rssKb: number;
  cpuMs: number;
}

function sampleOf(pid: number, t: number): Sample | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
    // utime and stime, fields 14 and 15 of /proc/<pid>/stat (after the parenthesised name).
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cpuMs = ((Number(f[11]) + Number(f[12])) * 1000) / 100;
    return { t, rssKb, cpuMs };
  } catch {
    return null;
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.floor(s.length / 2)]!;
};

/** Median and highest RSS, and CPU ms/min, over samples with t in [from, to) minutes. */
function window(
  samples: Sample[],
  from: number,
  to: number,
): { rssKb: number; peakKb: number; cpuPerMin: number } {
  const w = samples.filter((s) => s.t >= from * 60_000 && s.t < to * 60_000);
  const cpu =
    w.length > 1 ? (w.at(-1)!.cpuMs - w[0]!.cpuMs) / ((w.at(-1)!.t - w[0]!.t) / 60_000) : Number.NaN;
  const rss = w.map((s) => s.rssKb);
  return { rssKb: median(rss), peakKb: rss.length ? Math.max(...rss) : Number.NaN, cpuPerMin: cpu };
}

/** Highest RSS in each whole minute, in MB: the shape of the run at a glance. */
function perMinutePeaks(samples: Sample[], minutes: number): string {
  const out: string[] = [];
  for (let m = 0; m < minutes; m++) out.push((window(samples, m, m + 1).peakKb / 1024).toFixed(0));
  return out.join(" ");
}

describeNatlab("soak: 30 minutes of mixed traffic, RSS flat", () => {
  if (!SOAK) {
    // Skipped by default: a 30-minute run does not belong in every `npm test` (issue 6 lets the
    // soak run only with P2PTUN_SOAK=1); its last result is in the README's "Long run" section.
    it.skip("runs only with P2PTUN_SOAK=1 (P2PTUN_SOAK_MINUTES sets the length, default 30)", () => {});
    return;
  }
  const ctx = useLab({ a: { nat: "eim", udpTimeoutSec: 30 }, b: { nat: "eim-drop", udpTimeoutSec: 30 } });
  let w: P2pWorld | undefined;
  afterAll(async () => {
    await w?.destroy();
  });

  it(
    `${MINUTES} min: every transfer byte-exact, RSS peaks after minute ${WARMUP} rise < 10 %`,
    async () => {
      w = new P2pWorld(ctx.lab, {
        extraForwards: [{ listen: `127.0.0.1:${ECHO_FORWARD}`, connect: `127.0.0.1:${ECHO_PORT}` }],
      });
      const world = w;
      await startConnected(world);
      // Wait until it listens: an echo session started before would be refused at bob's side
      // (its stream reset, the client told ECONNRESET), which is what ended a run after 0 s.
      const echoServer = ctx.lab.b.spawn([process.execPath, TARGET_SERVER, "echo", String(ECHO_PORT)]);
      let echoOut = "";
      echoServer.stdout!.setEncoding("utf8").on("data", (d: string) => {
        echoOut += d;
      });
      await waitUntil(async () => echoOut.includes("listening"), "the echo server", 10_000);
      const pids = { joe: world.pid("joe")!, bob: world.pid("bob")! };
      const t0 = performance.now();
      const end = t0 + MINUTES * 60_000;
      const samples: Record<"joe" | "bob", Sample[]> = { joe: [], bob: [] };
      const failures: string[] = [];
      const totals = { transfers: 0, transferBytes: 0, echoSessions: 0, echoMessages: 0 };

      const sampler = (async () => {
        while (performance.now() < end) {
          const t = performance.now() - t0;
          for (const who of ["joe", "bob"] as const) {
            const s = sampleOf(pids[who], t);
            if (s) samples[who].push(s);
            else failures.push(`${who} (pid ${pids[who]}) is gone at ${(t / 1000).toFixed(0)} s`);
          }
          await sleep(5_000);
        }
      })();
      const transfers = (async () => {
        while (performance.now() < end && failures.length === 0) {
          const bytes = (1 + Math.floor(Math.random() * 16)) * 1024 * 1024;
          const r = await world.sendThroughForward(bytes);
          if (r.reply !== expectedDigest(bytes)) failures.push(`transfer of ${bytes}: ${r.error || r.reply}`);
          totals.transfers++;
          totals.transferBytes += bytes;
          await sleep(Math.random() * 3_000);
        }
      })();
      const echoes = (async () => {
        while (performance.now() < end && failures.length === 0) {
          const r = await ctx.lab.a.exec(
            [process.execPath, ECHO_CLIENT, String(ECHO_FORWARD), "200", "16384"],
            {
              timeoutMs: 120_000,
            },
          );
          if (r.code !== 0) failures.push(`echo: ${r.stderr.trim()}`);
          totals.echoSessions++;
          totals.echoMessages += Number(r.stdout.split(" ")[1] ?? 0);
          // Now and then leave the tunnel idle for longer than the NATs' UDP timeout.
          await sleep(Math.random() < 0.1 ? 40_000 : Math.random() * 2_000);
        }
      })();
      await Promise.all([sampler, transfers, echoes]);

      const last = Math.max(WARMUP + 1, MINUTES - 1);
      const mid = (WARMUP + MINUTES) / 2;
      const lines: string[] = [];
      const growth: Record<string, number> = {};
      for (const who of ["joe", "bob"] as const) {
        const base = window(samples[who], WARMUP, WARMUP + 1);
        const fin = window(samples[who], last, MINUTES + 1);
        const first = window(samples[who], 0, 1);
        const early = window(samples[who], WARMUP, mid);
        const late = window(samples[who], mid, MINUTES + 1);
        growth[who] = late.peakKb / early.peakKb - 1;
        lines.push(
          `${who}: RSS ${(first.rssKb / 1024).toFixed(1)} MB at minute 0, ${(base.rssKb / 1024).toFixed(1)} MB at minute ${WARMUP}, ` +
            `${(fin.rssKb / 1024).toFixed(1)} MB at the end; peak ${(early.peakKb / 1024).toFixed(1)} MB in minutes ${WARMUP}-${mid}, ` +
            `${(late.peakKb / 1024).toFixed(1)} MB after (${(growth[who]! * 100).toFixed(1)} %); ` +
            `CPU ${(base.cpuPerMin / 1000).toFixed(2)} s/min at minute ${WARMUP}, ${(fin.cpuPerMin / 1000).toFixed(2)} s/min at the end\n` +
            `  ${who} highest RSS per minute (MB): ${perMinutePeaks(samples[who], MINUTES)}`,
        );
      }
      console.log(
        `[natlab] soak ${MINUTES} min${MINUTES < 30 ? " (shortened from 30)" : ""}: ${totals.transfers} transfers ` +
          `(${(totals.transferBytes / 2 ** 20).toFixed(0)} MB), ${totals.echoSessions} echo sessions (${totals.echoMessages} messages), ` +
          `${failures.length} failures\n${lines.join("\n")}`,
      );
      expect(failures).toEqual([]);
      expect(growth.joe).toBeLessThan(0.1);
      expect(growth.bob).toBeLessThan(0.1);
    },
    (MINUTES * 60 + 180) * 1000,
  );
});
