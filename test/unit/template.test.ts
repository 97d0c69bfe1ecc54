// Templates are strict: a variable the host lacks names the template and the variable; nothing is rendered half.
import { describe, expect, it } from "vitest";
import { renderTemplate } from "../../lib/template.ts";
import { TemplateError } from "../../lib/errors.ts";

describe("renderTemplate", () => {
  const vars = { host: { name: "hub", group: "hub" }, os: "debian", mesh_ip: "10.0.4.1", base_contact: "team" };

  it("renders with every variable present", () => {
    expect(renderTemplate("base/node.conf.hbs", vars)).toContain("mesh_ip=10.0.4.1");
  });

  it.each(["base_contact", "mesh_ip", "os"])("names the template and the missing variable %s", (missing) => {
    const partial = Object.fromEntries(Object.entries(vars).filter(([k]) => k !== missing));
    expect(() => renderTemplate("base/node.conf.hbs", partial)).toThrow(TemplateError);
    expect(() => renderTemplate("base/node.conf.hbs", partial)).toThrow(
      new RegExp(`template base/node.conf.hbs: uses the variable "${missing}"`),
    );
  });

  it("a missing template file is a clear error", () => {
    expect(() => renderTemplate("base/nope.hbs", vars)).toThrow(/template base\/nope.hbs: not found/);
  });

  it("does not HTML-escape config text", () => {
    expect(renderTemplate("base/node.conf.hbs", { ...vars, base_contact: "A & B <x@y>" })).toContain(
      "contact=A & B <x@y>",
    );
  });
});
