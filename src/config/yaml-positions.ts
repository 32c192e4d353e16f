/**
 * Maps a zod issue path back to a place in the YAML source, so an error can say
 * `file:line:col`. For an unknown key the place is the key itself; for a bad value, the value;
 * for a missing key, the object that lacks it.
 */
import { type Document, isMap, isPair, isScalar, type LineCounter, type Node } from "yaml";

export interface SourcePos {
  line: number;
  col: number;
}

type PathKey = string | number | symbol;

function nodeAt(doc: Document, path: readonly PathKey[]): { node: Node | null; depth: number } {
  let node = doc.contents as Node | null;
  let depth = 0;
  for (const key of path) {
    if (!node || typeof key === "symbol") break;
    const child = (node as { get?: (k: unknown, keepScalar: boolean) => unknown }).get?.(key, true) as
      | Node
      | undefined;
    if (!child || typeof child !== "object") break;
    node = child;
    depth++;
  }
  return { node, depth };
}

function keyNodeOf(doc: Document, path: readonly PathKey[], key: string): Node | null {
  const { node, depth } = nodeAt(doc, path);
  if (depth !== path.length || !isMap(node)) return null;
  for (const item of node.items) {
    if (isPair(item) && isScalar(item.key) && String(item.key.value) === key) return item.key;
  }
  return null;
}

export function positionOf(
  doc: Document,
  lc: LineCounter,
  path: readonly PathKey[],
  unknownKey?: string,
): SourcePos {
  const target = unknownKey !== undefined ? keyNodeOf(doc, path, unknownKey) : null;
  const node = target ?? nodeAt(doc, path).node;
  const offset = node?.range?.[0] ?? 0;
  return lc.linePos(offset);
}

/** The value at a path in the YAML document, for "got …" in messages; undefined if missing. */
export function valueAt(doc: Document, path: readonly PathKey[]): unknown {
  const { node, depth } = nodeAt(doc, path);
  if (depth !== path.length || !node) return undefined;
  return (node as { toJSON?: () => unknown }).toJSON?.() ?? (isScalar(node) ? node.value : undefined);
}

/** `forwards[0].listen` */
export function formatPath(path: readonly PathKey[]): string {
  let out = "";
  for (const k of path) {
    if (typeof k === "number") out += `[${k}]`;
    else out += out ? `.${String(k)}` : String(k);
  }
  return out || "(top level)";
}
