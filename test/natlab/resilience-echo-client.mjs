// Runs inside a lab namespace: opens 127.0.0.1:<port> (a forward to an echo service), sends
// <count> messages of 1..<maxSize> bytes one after another, checks each echo byte for byte, and
// prints "ok <messages> <bytes>" (exit 0) or what went wrong (exit 1).
import { randomBytes } from "node:crypto";
import { connect } from "node:net";

const [port, count, maxSize] = [Number(process.argv[2]), Number(process.argv[3]), Number(process.argv[4])];
const s = connect(port, "127.0.0.1");
let expected = Buffer.alloc(0);
let got = Buffer.alloc(0);
let done = 0;
let bytes = 0;
const fail = (why) => {
  process.stderr.write(`${why}\n`);
  process.exit(1);
};
const next = () => {
  if (done === count) {
    process.stdout.write(`ok ${done} ${bytes}\n`);
    s.end();
    process.exit(0);
  }
  expected = randomBytes(1 + Math.floor(Math.random() * maxSize));
  got = Buffer.alloc(0);
  s.write(expected);
};
s.on("data", (d) => {
  got = Buffer.concat([got, d]);
  if (got.length < expected.length) return;
  if (!got.equals(expected)) fail(`message ${done + 1}: echo differs`);
  done++;
  bytes += expected.length;
  next();
});
s.on("error", (e) => fail(e.code ?? e.message));
s.on("end", () => fail(`closed after ${done} of ${count} messages`));
s.on("connect", next);
