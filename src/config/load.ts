/**
 * Loads and validates a config file. Every problem comes back as one line that names the file,
 * line, column and key path; all problems are reported at once, not just the first.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { LineCounter, parseDocument } from "yaml";
import { z } from "zod";
import { ConfigError } from "../util/errors.js";
import { formatIssues } from "./issues.js";
import {
  type DaemonConfigData,
  daemonConfigSchema,
  type IntroducerConfigData,
  introducerConfigSchema,
} from "./schema.js";

export type ConfigKind = "daemon" | "introducer";

/** Keys an object at `path` accepts, read from the zod schema, for "did you mean". */
function knownKeysOf(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let s: z.ZodType | undefined = schema;
  for (const key of path) {
    s = unwrap(s);
    if (!s) return [];
    if (s instanceof z.ZodArray && typeof key === "number") s = s.element as z.ZodType;
    else if (s instanceof z.ZodObject && typeof key === "string") s = s.shape[key] as z.ZodType | undefined;
    else return [];
  }
  s = unwrap(s);
  return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
}

function unwrap(s: z.ZodType | undefined): z.ZodType | undefined {
  let cur = s;
  for (let i = 0; i < 10 && cur; i++) {
    const def = (cur as unknown as { def?: { innerType?: z.ZodType; in?: z.ZodType } }).def;
    const next = def?.innerType ?? def?.in;
    if (!next) break;
    cur = next;
  }
  return cur;
}

export function parseConfigText<T>(text: string, file: string, schema: z.ZodType<T>): T {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((e) => {
      const pos = lc.linePos(e.pos[0]);
      return `${file}:${pos.line}:${pos.col}: YAML syntax error: ${e.message.split("\n")[0]}`;
    });
    throw new ConfigError(lines.join("\n"), lines);
  }
  let data: unknown;
  try {
    // toJS can still refuse: an unresolved alias (`*x`) or an alias bomb over maxAliasCount.
    data = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (e) {
    const line = `${file}:1:1: YAML error: ${(e as Error).message.split("\n")[0]}`;
    throw new ConfigError(line, [line]);
  }
  const result = schema.safeParse(data);
  if (!result.success) {
    const lines = formatIssues(result.error.issues, {
      file,
      doc,
      lc,
      knownKeys: (p) => knownKeysOf(schema, p),
    });
    throw new ConfigError(lines.join("\n"), lines);
  }
  return result.data;
}

function readText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : (e as Error).message;
    throw new ConfigError(`${file}: cannot read config: ${why}`);
  }
}

export interface LoadedDaemonConfig extends DaemonConfigData {
  kind: "daemon";
  file: string;
  /** privateKeyFile resolved against the config file's folder. */
  privateKeyPath: string;
}

export interface LoadedIntroducerConfig extends IntroducerConfigData {
  kind: "introducer";
  file: string;
  privateKeyPath: string;
}

export function loadDaemonConfig(file: string): LoadedDaemonConfig {
  const data = parseConfigText(readText(file), file, daemonConfigSchema);
  return { ...data, kind: "daemon", file, privateKeyPath: resolve(dirname(file), data.privateKeyFile) };
}

export function loadIntroducerConfig(file: string): LoadedIntroducerConfig {
  const data = parseConfigText(readText(file), file, introducerConfigSchema);
  return { ...data, kind: "introducer", file, privateKeyPath: resolve(dirname(file), data.privateKeyFile) };
}

/** Decides the kind from the keys present: an introducer config has `listen` and no `introducers`. */
export function detectKind(file: string): ConfigKind {
  let js: unknown;
  try {
    js = parseDocument(readText(file)).toJS({ maxAliasCount: 100 });
  } catch {
    return "daemon"; // the loader reports the problem with its position
  }
  if (js && typeof js === "object" && !Array.isArray(js) && "introducers" in js) return "daemon";
  if (js && typeof js === "object" && !Array.isArray(js) && "listen" in js) return "introducer";
  return "daemon";
}

export function loadAnyConfig(file: string): LoadedDaemonConfig | LoadedIntroducerConfig {
  return detectKind(file) === "introducer" ? loadIntroducerConfig(file) : loadDaemonConfig(file);
}
