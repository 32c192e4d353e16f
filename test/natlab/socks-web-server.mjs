// HTTP servers on bob's host for the SOCKS tests. Arguments: NAME=HOST:PORT ... Each listener
// serves `hello from NAME\n` and prints `connection NAME` for every TCP connection it accepts
// (the test's counter), and `listening NAME` once it listens.
import { createServer } from "node:http";

for (const arg of process.argv.slice(2)) {
  const [name, hostPort] = arg.split("=");
  const i = hostPort.lastIndexOf(":");
  const server = createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(`hello from ${name} (${req.headers.host})\n`);
  });
  server.on("connection", () => console.log(`connection ${name}`));
  server.listen(Number(hostPort.slice(i + 1)), hostPort.slice(0, i), () => console.log(`listening ${name}`));
}
