// A service on bob's host for the NAT-lab tests: `digest` answers `<bytes> <sha256>` after the
// client's end (proves byte-exact delivery); `echo` echoes. Prints "listening" when ready.
import { createHash } from "node:crypto";
import { createServer } from "node:net";

const [mode, port] = [process.argv[2], Number(process.argv[3])];
let connections = 0;
createServer({ allowHalfOpen: true }, (s) => {
  connections++;
  console.log(`connection ${connections}`);
  s.on("error", () => {});
  if (mode === "echo") return s.pipe(s);
  const h = createHash("sha256");
  let n = 0;
  s.on("data", (d) => {
    n += d.length;
    h.update(d);
  });
  s.on("end", () => s.end(`${n} ${h.digest("hex")}\n`));
}).listen(port, "127.0.0.1", () => console.log("listening"));
