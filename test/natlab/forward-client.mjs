// Runs inside a lab namespace: sends <bytes> of a repeating pattern to 127.0.0.1:<port>, half-closes,
// and prints what came back (the digest service's "<bytes> <sha256>").
import { connect } from "node:net";

const [port, bytes] = [Number(process.argv[2]), Number(process.argv[3])];
const s = connect(port, "127.0.0.1");
let out = "";
s.on("data", (d) => {
  out += d;
});
s.on("end", () => {
  process.stdout.write(out);
  process.exit(0);
});
s.on("error", (e) => {
  process.stderr.write(`${e.code ?? e.message}\n`);
  process.exit(1);
});
const block = Buffer.alloc(64 * 1024);
for (let i = 0; i < block.length; i++) block[i] = (i * 31 + 7) & 0xff;
let sent = 0;
const pump = () => {
  while (sent < bytes) {
    const chunk = block.subarray(0, Math.min(block.length, bytes - sent));
    sent += chunk.length;
    if (!s.write(chunk)) return s.once("drain", pump);
  }
  s.end();
};
s.on("connect", pump);
