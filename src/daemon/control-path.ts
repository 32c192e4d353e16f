import { dirname, join, resolve } from "node:path";

/** Where the control socket lives when `control:` is not set: per-user runtime dir, else /run/p2ptun. */
export function defaultControlPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, "p2ptun.sock") : "/run/p2ptun/p2ptun.sock";
}

/** The control path of a loaded config: relative paths are relative to the config file. */
export function controlPathOf(cfg: { control?: string; file: string }): string {
  return cfg.control ? resolve(dirname(cfg.file), cfg.control) : defaultControlPath();
}
