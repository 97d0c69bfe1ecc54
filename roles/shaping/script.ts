// The watcher's script on the host: the same caps as the tc resources, as commands that can run again at any time.
import type { Resource } from "../../lib/resources/resource.ts";
import { file } from "../../lib/resources/file.ts";
import { qdiscSupportFact } from "../../lib/facts/tc.ts";
import { chooseLeaf, htbCommands } from "../../lib/resources/tc-htb.ts";
import { ingressCommands } from "../../lib/resources/tc-ingress.ts";
import { ifbCommands } from "../../lib/resources/tc-ifb.ts";
import { renderTemplate } from "../../lib/template.ts";
import type { ProbedQdisc } from "../../lib/facts/tc.ts";
import type { UplinkShaping } from "./caps.ts";

/** The script's text for the leaf queues this kernel has (each command is safe to run on any state). */
export function renderShapingScript(s: UplinkShaping, supported: ReadonlySet<ProbedQdisc>): string {
  const commands = [s.download, s.upload].flatMap((d) => [
    htbCommands.ensureRoot(d.device),
    htbCommands.cls(d.device, d.rateBit),
    htbCommands.ensureLeaf(d.device, chooseLeaf(d.leaf, supported)),
  ]);
  commands.push(ingressCommands.qdisc(s.meshDevice), ingressCommands.redirect(s.meshDevice, s.ifbDevice));
  return renderTemplate("shaping/shaping.sh.hbs", {
    mesh_device: s.meshDevice,
    ifb_device: s.ifbDevice,
    ifb_add: ifbCommands.add(s.ifbDevice).render(),
    ifb_up: ifbCommands.up(s.ifbDevice).render(),
    commands: commands.map((c) => c.render()),
    watch_seconds: s.vars.shaping_watch_seconds,
    download: `${s.download.rateBit / 1e6} Mbit/s`,
    upload: `${s.upload.rateBit / 1e6} Mbit/s`,
  });
}

/** A file resource whose content depends on the kernel's qdiscs (a fact), so it is built at plan time. */
export function shapingScript(s: UplinkShaping, notify: string[]): Resource {
  const path = s.vars.shaping_script;
  const probe = file({ path, content: "" });
  return {
    name: `Write ${path}`,
    provides: probe.provides,
    notify,
    facts: [...probe.facts, qdiscSupportFact],
    plan(read) {
      return file({ path, content: renderShapingScript(s, read(qdiscSupportFact)), mode: "0755" }).plan(read);
    },
  };
}
