// The `socks` npm package as a SOCKS5 client, run inside a lab namespace. Arguments:
// PROXY_PORT COMMAND HOST PORT [USER PASS]. Prints one JSON line: {ok, body} after an HTTP GET
// through the proxy, or {ok: false, error, reply} where `reply` is the SOCKS5 reply code the
// proxy sent (parsed from the library's "... rejected connection - NotAllowed" message).
import { SocksClient } from "socks";

const [proxyPort, command, host, port, userId, password] = process.argv.slice(2);
const REPLY_NAMES = [
  "Granted",
  "Failure",
  "NotAllowed",
  "NetworkUnreachable",
  "HostUnreachable",
  "ConnectionRefused",
  "TTLExpired",
  "CommandNotSupported",
  "AddressNotSupported",
];

const options = {
  proxy: { host: "127.0.0.1", port: Number(proxyPort), type: 5, userId, password },
  command,
  destination: { host, port: Number(port) },
  timeout: 20_000,
};

function failure(err) {
  const m = / - (\w+)$/.exec(err.message);
  const reply = m ? REPLY_NAMES.indexOf(m[1]) : -1;
  return { ok: false, error: err.message, reply: reply >= 0 ? reply : null };
}

if (command === "connect") {
  try {
    const { socket } = await SocksClient.createConnection(options);
    socket.end(`GET / HTTP/1.0\r\nHost: ${host}:${port}\r\n\r\n`);
    let body = "";
    socket.setEncoding("utf8").on("data", (d) => {
      body += d;
    });
    await new Promise((resolve, reject) => {
      socket.once("end", resolve);
      socket.once("error", reject);
    });
    console.log(JSON.stringify({ ok: true, body: body.slice(body.indexOf("\r\n\r\n") + 4) }));
  } catch (err) {
    console.log(JSON.stringify(failure(err)));
  }
} else {
  // createConnection only does CONNECT; BIND and ASSOCIATE go through the event API.
  const client = new SocksClient(options);
  const result = await new Promise((resolve) => {
    client.once("error", (err) => resolve(failure(err)));
    client.once("bound", () => resolve({ ok: true, body: "" }));
    client.connect();
  });
  console.log(JSON.stringify(result));
  process.exit(0);
}
