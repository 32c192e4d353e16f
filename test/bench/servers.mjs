// Benchmark services: `sink PORT` counts bytes and answers the count after the client's end;
// `echo PORT` echoes. Prints "ready" once listening.
import { createServer } from "node:net";

const [mode, port] = [process.argv[2], Number(process.argv[3])];
createServer({ allowHalfOpen: true }, (s) => {
  s.on("error", () => {});
  s.setNoDelay(true);
  if (mode === "echo") return s.pipe(s);
  let n = 0;
  s.on("data", (d) => {
    n += d.length;
  });
  s.on("end", () => s.end(`${n}\n`));
}).listen(port, "127.0.0.1", () => console.log("ready"));
