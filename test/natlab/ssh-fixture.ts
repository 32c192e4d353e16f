/**
 * A real OpenSSH server for NAT-lab tests, and the matching client commands. `SshServer.start`
 * generates a host key and a client key in a temporary folder, writes an sshd_config that lets
 * root in with that key only, and runs `sshd -D -e` inside a lab host's namespace. Clients run in
 * another namespace (typically through a p2ptun forward) with `sshCommand`/`scpCommand`.
 *
 * Used by ssh.test.ts (UDP path) and meant for the TCP-fallback test as well.
 */
import type { ChildProcess } from "node:child_process";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LabHost } from "./lab.js";

export const SSHD = "/usr/sbin/sshd";

/** Why ssh tests cannot run here, or undefined when sshd, ssh, scp and ssh-keygen are present. */
export function sshUnavailable(): string | undefined {
  for (const tool of [SSHD, "ssh", "scp", "ssh-keygen"]) {
    try {
      if (tool.startsWith("/")) {
        if (!existsSync(tool)) return `${tool} is missing (apt-get install openssh-server)`;
      } else execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    } catch {
      return `${tool} is missing (apt-get install openssh-client)`;
    }
  }
  return undefined;
}

/** Client options that never touch the user's ssh config, agent or known_hosts. */
function clientOptions(key: string): string[] {
  return [
    "-F",
    "/dev/null",
    "-i",
    key,
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "IdentityAgent=none",
    "-o",
    "BatchMode=yes",
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "LogLevel=ERROR",
    "-o",
    "ConnectTimeout=20",
  ];
}

export class SshServer {
  private proc?: ChildProcess;
  private stderr = "";

  private constructor(
    /** temporary folder with the keys and the config; removed by stop() */
    readonly dir: string,
    readonly host: LabHost,
    readonly listen: { host: string; port: number },
  ) {}

  /** The client's private key (its public half is the only authorized key). */
  get clientKey(): string {
    return join(this.dir, "client_ed25519");
  }

  /** What sshd printed so far (with -e its log goes to stderr). */
  get log(): string {
    return this.stderr;
  }

  /**
   * Writes keys and config and runs sshd in `host`'s namespace, listening on `listen`; resolves
   * once sshd says it is listening.
   */
  static async start(host: LabHost, listen = { host: "127.0.0.1", port: 22 }): Promise<SshServer> {
    const dir = mkdtempSync(join(tmpdir(), "p2ptun-sshd-"));
    const s = new SshServer(dir, host, listen);
    try {
      await s.run();
    } catch (err) {
      await s.stop();
      throw err;
    }
    return s;
  }

  private async run(): Promise<void> {
    const hostKey = join(this.dir, "host_ed25519");
    for (const [key, comment] of [
      [hostKey, "natlab-host"],
      [this.clientKey, "natlab-client"],
    ])
      execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", key]);
    const authorized = join(this.dir, "authorized_keys");
    execFileSync("cp", [`${this.clientKey}.pub`, authorized]);
    const config = join(this.dir, "sshd_config");
    writeFileSync(
      config,
      [
        `ListenAddress ${this.listen.host}:${this.listen.port}`,
        `HostKey ${hostKey}`,
        "PidFile none",
        `AuthorizedKeysFile ${authorized}`,
        "PermitRootLogin prohibit-password",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        // the temp folder is under /tmp, which sshd's ownership checks would refuse
        "StrictModes no",
        "UseDNS no",
        "PrintMotd no",
        "LogLevel VERBOSE",
        // scp (OpenSSH >= 9) speaks SFTP
        "Subsystem sftp internal-sftp",
        "",
      ].join("\n"),
    );
    // sshd refuses to start without its privilege separation directory.
    mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
    await this.host.execChecked([SSHD, "-t", "-f", config]);
    const proc = this.host.spawn([SSHD, "-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
    this.proc = proc;
    await new Promise<void>((resolve, reject) => {
      proc.stderr!.setEncoding("utf8").on("data", (d: string) => {
        this.stderr += d;
        if (this.stderr.includes("Server listening on")) resolve();
      });
      proc.once("error", reject);
      proc.once("exit", (code) => reject(new Error(`sshd exited with ${code}: ${this.stderr.trim()}`)));
    });
  }

  /** `ssh … root@HOST -p PORT command`: HOST:PORT is where the client connects (e.g. a forward). */
  sshCommand(to: { host: string; port: number }, command: string): string[] {
    return ["ssh", ...clientOptions(this.clientKey), "-p", String(to.port), `root@${to.host}`, command];
  }

  /** `scp` of a local file to `remotePath` on the server, reached at `to`. */
  scpCommand(to: { host: string; port: number }, localPath: string, remotePath: string): string[] {
    return [
      "scp",
      ...clientOptions(this.clientKey),
      "-q",
      "-P",
      String(to.port),
      localPath,
      `root@${to.host}:${remotePath}`,
    ];
  }

  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (p && p.exitCode === null && p.signalCode === null) {
      const exited = new Promise((r) => p.once("exit", r));
      p.kill("SIGTERM");
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
