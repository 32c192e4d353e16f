// Benchmark services: `sink PORT` counts bytes until a 0x00 byte (or the client's end) and then
// answers the count (bytes before the marker) on one line — a marker, because kcptun's smux does
// not carry a half-close; `echo PORT` echoes. Prints "ready" once listening.
import { createServer } from "node:net";

const [mode, port] = [process.argv[2], Number(process.argv[3])];
createServer({ allowHalfOpen: true }, (s) => {
  s.on("error", () => {});
  s.setNoDelay(true);
  if (mode === "echo") return s.pipe(s);
  let n = 0;
  let answered = false;
  const answer = () => {
    if (answered) return;
    answered = true;
    s.end(`${n}\n`);
  };
  s.on("data", (d) => {
    if (answered) return;
    const i = d.indexOf(0);
    if (i < 0) n += d.length;
    else {
      n += i;
      answer();
    }
  });
  s.on("end", answer);
}).listen(port, "127.0.0.1", () => console.log("ready"));
