/**
 * Preloaded into a daemon for memory investigations (not used by the benchmark itself):
 *   P2PTUN_BENCH_NODE_FLAGS="--require $PWD/test/bench/memory-sampler.cjs" P2PTUN_BENCH_KEEP_DIR=1 npm run bench
 * Every 100 ms it appends one line to memory-<pid>.txt in the daemon's working directory (the
 * kept bench directory): ms since start, RSS, anonymous RSS, V8 heap used/total, external memory
 * and ArrayBuffers, in MB. Split that way, RSS shows which of them a peak is made of.
 */
const { appendFileSync, readFileSync } = require("node:fs");

const out = `memory-${process.pid}.txt`;
const t0 = Date.now();
const mb = (n) => (n / 1048576).toFixed(1);

setInterval(() => {
  const m = process.memoryUsage();
  const anonKb = Number(/RssAnon:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? 0);
  const line = [
    Date.now() - t0,
    `rss=${mb(m.rss)}`,
    `anon=${mb(anonKb * 1024)}`,
    `heapUsed=${mb(m.heapUsed)}`,
    `heapTotal=${mb(m.heapTotal)}`,
    `external=${mb(m.external)}`,
    `arrayBuffers=${mb(m.arrayBuffers)}`,
  ].join(" ");
  appendFileSync(out, `${line}\n`);
}, 100).unref();
