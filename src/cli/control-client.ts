/** Talks to a running daemon's control socket (see src/daemon/control-server.ts). */
import { connect } from "node:net";
import { loadDaemonConfig } from "../config/load.js";
import { controlPathOf, defaultControlPath } from "../daemon/control-path.js";
import { ControlError } from "../util/errors.js";

export function resolveControlPath(opts: { config?: string; control?: string }): string {
  if (opts.control) return opts.control;
  if (opts.config) return controlPathOf(loadDaemonConfig(opts.config));
  return defaultControlPath();
}

/** Sends one request and calls `onLine` for every reply line; resolves with the final line. */
export function controlRequest(
  path: string,
  request: object,
  onLine: (line: Record<string, unknown>) => void = () => {},
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    let buf = "";
    let last: Record<string, unknown> | undefined;
    sock.setEncoding("utf8");
    sock.on("connect", () => sock.write(`${JSON.stringify(request)}\n`));
    sock.on("data", (chunk: string) => {
      buf += chunk;
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const line = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>;
        buf = buf.slice(nl + 1);
        last = line;
        if (line.done) {
          if (typeof line.error === "string")
            reject(new ControlError("CONTROL_REQUEST", `p2ptun: ${line.error}`));
          else resolve(line);
          sock.end();
          return;
        }
        onLine(line);
      }
    });
    sock.on("error", (e: NodeJS.ErrnoException) => {
      const why =
        e.code === "ENOENT" || e.code === "ECONNREFUSED"
          ? "no daemon is running there (start one with `p2ptun up -c config.yaml`, or pass -c/--control)"
          : e.code === "EACCES" || e.code === "EPERM"
            ? "permission denied: the socket belongs to the daemon's user (mode 0600); run this as that user or with sudo"
            : e.message;
      reject(new ControlError("CONTROL_UNREACHABLE", `p2ptun: cannot reach the daemon at ${path}: ${why}`));
    });
    sock.on("close", () => {
      if (!last?.done)
        reject(new ControlError("CONTROL_CLOSED", `p2ptun: the daemon at ${path} closed the connection`));
    });
  });
}
