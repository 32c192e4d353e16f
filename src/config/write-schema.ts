/** Writes schema/*.json from the zod schemas. Run by `npm run schema`; a test checks they are current. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { jsonSchemas } from "./json-schema.js";

const dir = process.argv[2] ?? "schema";
for (const [name, text] of Object.entries(jsonSchemas())) writeFileSync(join(dir, name), text);
