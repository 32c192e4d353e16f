/**
 * Turns zod issues into one-line messages: `file:line:col: key.path: problem`.
 */
import type { Document, LineCounter } from "yaml";
import type { z } from "zod";
import { formatPath, positionOf, valueAt } from "./yaml-positions.js";

function describeValue(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  if (typeof v === "string") return JSON.stringify(v);
  return String(v);
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length][b.length];
}

function suggestion(key: string, known: string[]): string {
  let best: string | undefined;
  let bestD = 3;
  for (const k of known) {
    const dist = editDistance(key.toLowerCase(), k.toLowerCase());
    if (dist < bestD) {
      best = k;
      bestD = dist;
    }
  }
  return best ? `; did you mean "${best}"?` : "";
}

export interface IssueContext {
  file: string;
  doc: Document;
  lc: LineCounter;
  /** Known keys per object path, for "did you mean" on unknown keys. */
  knownKeys: (path: readonly PropertyKey[]) => string[];
}

export function formatIssues(issues: z.core.$ZodIssue[], ctx: IssueContext): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        const pos = positionOf(ctx.doc, ctx.lc, issue.path, key);
        const where = formatPath([...issue.path, key]);
        lines.push(
          `${ctx.file}:${pos.line}:${pos.col}: ${where}: unknown key${suggestion(key, ctx.knownKeys(issue.path))}`,
        );
      }
      continue;
    }
    const pos = positionOf(ctx.doc, ctx.lc, issue.path);
    const value = valueAt(ctx.doc, issue.path);
    let problem: string;
    switch (issue.code) {
      case "invalid_type":
        problem =
          value === undefined
            ? `missing (expected ${issue.expected})`
            : `expected ${issue.expected}, got ${describeValue(value)}`;
        break;
      case "invalid_value":
        problem = `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}, got ${describeValue(value)}`;
        break;
      case "too_small":
        problem =
          issue.origin === "array"
            ? issue.message.replace(/^Too small: /, "")
            : `${issue.message}, got ${describeValue(value)}`;
        break;
      default:
        problem = issue.message;
    }
    lines.push(`${ctx.file}:${pos.line}:${pos.col}: ${formatPath(issue.path)}: ${problem}`);
  }
  // Report in file order, as a person reads the file.
  const at = (l: string) =>
    l
      .slice(ctx.file.length + 1)
      .split(":", 2)
      .map(Number);
  return lines.sort((x, y) => {
    const [lx, cx] = at(x);
    const [ly, cy] = at(y);
    return lx - ly || cx - cy;
  });
}
