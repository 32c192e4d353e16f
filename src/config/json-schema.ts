/** JSON Schemas of both config kinds, generated from the zod schemas (see `npm run schema`). */
import { z } from "zod";
import { daemonConfigSchema, introducerConfigSchema } from "./schema.js";

export function jsonSchemas(): Record<string, string> {
  const gen = (schema: z.ZodType, title: string) =>
    `${JSON.stringify({ title, ...z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) }, null, 2)}\n`;
  return {
    "daemon.schema.json": gen(daemonConfigSchema, "p2ptun daemon config"),
    "introducer.schema.json": gen(introducerConfigSchema, "p2ptun introducer config"),
  };
}
