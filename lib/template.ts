// Handlebars templates in strict mode: a variable the host lacks is an error naming the template and the variable.
import { readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import Handlebars from "handlebars";
import { TemplateError } from "./errors.ts";

export const TEMPLATES_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "templates");

const hb = Handlebars.create();
hb.registerHelper("json", (value: unknown) => new Handlebars.SafeString(JSON.stringify(value)));
hb.registerHelper("eq", (a: unknown, b: unknown) => a === b);
hb.registerHelper(
  "join",
  (list: unknown[], separator: unknown) =>
    new Handlebars.SafeString(list.join(typeof separator === "string" ? separator : ", ")),
);

const compiled = new Map<string, HandlebarsTemplateDelegate>();

/** Renders templates/<path> (e.g. "base/motd.hbs") with vars. Output is not HTML-escaped. */
export function renderTemplate(path: string, vars: Record<string, unknown>): string {
  const file = join(TEMPLATES_DIR, path);
  let template = compiled.get(file);
  if (!template) {
    let source: string;
    try {
      source = readFileSync(file, "utf8");
    } catch {
      throw new TemplateError(path, `not found at ${relative(process.cwd(), file)}`);
    }
    template = hb.compile(source, { strict: true, noEscape: true });
    compiled.set(file, template);
  }
  try {
    return template(vars);
  } catch (err) {
    const message = (err as Error).message;
    const missing = /"([^"]+)" not defined in/.exec(message);
    throw new TemplateError(
      path,
      missing
        ? `uses the variable "${missing[1]}", which this host does not have (set it in the inventory or the role's defaults)`
        : message.split("\n")[0],
    );
  }
}
