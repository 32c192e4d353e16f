// Benchmark services: `sink PORT` counts bytes until a 0x00 byte (or the client's end) and then
// answers the count (bytes before the marker) on one line — a marker, because kcptun's smux does
// not carry a half-close; `echo PORT` echoes. Prints "ready" once listening.
//
// The relay modes make the echo RTT's floor: the same four processes and hops as a p2ptun
// forward (client -TCP-> relay -UDP-> relay -TCP-> echo) with nothing done in between, no
// encryption, reliability or multiplexing. Only for 1-byte pings (one chunk is one datagram):
//   relay-in PORT UDP_PORT    TCP connections on PORT, each relayed over its own UDP socket
//   relay-out UDP_PORT PORT   datagrams on UDP_PORT, each source relayed over a TCP connection
import { createSocket } from "node:dgram";
import { connect, createServer } from "node:net";

const [mode, port, other] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];

if (mode === "relay-in") {
  createServer((s) => {
    s.setNoDelay(true);
    s.on("error", () => {});
    const u = createSocket("udp4");
    u.on("message", (m) => s.write(m));
    s.on("data", (d) => u.send(d, other, "127.0.0.1"));
    s.on("close", () => u.close());
  }).listen(port, "127.0.0.1", () => console.log("ready"));
} else if (mode === "relay-out") {
  const u = createSocket("udp4");
  const conns = new Map();
  u.on("message", (m, from) => {
    const key = `${from.address}:${from.port}`;
    let c = conns.get(key);
    if (!c) {
      c = connect(other, "127.0.0.1");
      c.setNoDelay(true);
      c.on("error", () => {});
      c.on("data", (d) => u.send(d, from.port, from.address));
      c.on("close", () => conns.delete(key));
      conns.set(key, c);
    }
    c.write(m);
  });
  u.bind(port, "127.0.0.1", () => console.log("ready"));
} else {
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
}
