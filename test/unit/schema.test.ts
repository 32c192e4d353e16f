import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { jsonSchemas } from "../../src/config/json-schema.js";
import { repoRoot } from "../helpers/cli.js";

describe("generated JSON Schema", () => {
  it("schema/ is current with the zod schemas (run `npm run schema` after changing them)", () => {
    for (const [name, text] of Object.entries(jsonSchemas())) {
      expect(readFileSync(join(repoRoot, "schema", name), "utf8"), name).toBe(text);
    }
  });

  it("describes the keys editors should complete and refuses unknown ones", () => {
    const daemon = JSON.parse(jsonSchemas()["daemon.schema.json"]);
    expect(Object.keys(daemon.properties)).toEqual(
      expect.arrayContaining([
        "name",
        "privateKeyFile",
        "introducers",
        "bind",
        "control",
        "peers",
        "forwards",
        "socks",
        "log",
      ]),
    );
    expect(daemon.additionalProperties).toBe(false);
  });
});
