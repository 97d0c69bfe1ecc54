// Which hosts a play runs on: its patterns (group names, host names, "all"), narrowed by --limit.
import { UserError } from "../errors.ts";
import type { Host, Inventory } from "./types.ts";

function resolve(inventory: Inventory, name: string, what: string): Host[] {
  if (name === "all") return inventory.hosts;
  // A play may target a group this inventory has no hosts in yet (no clients, say); --limit may not name nothing.
  if (what === "the play" && !inventory.hosts.some((h) => h.name === name))
    return inventory.hosts.filter((h) => inventory.groups[name]?.includes(h.name));
  if (inventory.groups[name]) return inventory.hosts.filter((h) => inventory.groups[name].includes(h.name));
  const host = inventory.hosts.find((h) => h.name === name);
  if (host) return [host];
  throw new UserError(
    `${what} names "${name}", which is neither a host nor a group of ${inventory.file}`,
    `groups: ${Object.keys(inventory.groups).join(", ") || "none"}; hosts: ${inventory.hosts.map((h) => h.name).join(", ") || "none"}`,
  );
}

export function selectHosts(inventory: Inventory, patterns: readonly string[], limit?: string): Host[] {
  const chosen = new Set(patterns.flatMap((p) => resolve(inventory, p, "the play")));
  if (limit) {
    const parts = limit
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    const include = parts.filter((p) => !p.startsWith("!"));
    const exclude = new Set(
      parts.filter((p) => p.startsWith("!")).flatMap((p) => resolve(inventory, p.slice(1), "--limit")),
    );
    const allowed = include.length ? new Set(include.flatMap((p) => resolve(inventory, p, "--limit"))) : undefined;
    for (const h of [...chosen]) if ((allowed && !allowed.has(h)) || exclude.has(h)) chosen.delete(h);
  }
  return inventory.hosts.filter((h) => chosen.has(h));
}
