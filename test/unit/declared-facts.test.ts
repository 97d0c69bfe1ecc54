// Every resource of every play reads only the facts it declares (the runner gathers the declared ones and refuses the
// rest): each task of the pilot inventory's hosts planned alone, against hosts that print nothing (exit 0, then 1), then "[]".
import { describe, expect, it } from "vitest";
import { raw } from "../../lib/command.ts";
import { defineFact, UndeclaredFactError } from "../../lib/facts/fact.ts";
import { loadInventory } from "../../lib/inventory/load.ts";
import type { Inventory } from "../../lib/inventory/types.ts";
import type { Play } from "../../lib/play.ts";
import { file } from "../../lib/resources/file.ts";
import type { Resource } from "../../lib/resources/resource.ts";
import type { CertAuthority } from "../../roles/nebula/identity.ts";
import { certificatesPlay, clientPlay, hubPlay, relayPlay, uplinkPlay } from "../../tasks/plays.ts";
import { BASE_INVENTORY, inventoryFrom } from "./monitoring-fixture.ts";
import { identified, planOne, playTasks, type Probes } from "../helpers/plan.ts";

const pilot = loadInventory(new URL("../../inventory/pilot/hosts.yml", import.meta.url).pathname);
// The pilot has no clients yet: a member's machine whose internet rides the mesh, and one that keeps its own line.
const withClients = inventoryFrom(
  `${BASE_INVENTORY}      laptop-2: { address: 198.18.9.41, os: debian, vars: { client_internet_via_mesh: true } }\n`,
);
const ca = {
  caCertPem: "-----BEGIN NEBULA CERTIFICATE-----\n-----END NEBULA CERTIFICATE-----\n",
} as unknown as CertAuthority;
const plays: Play[] = [hubPlay(ca), relayPlay(ca), uplinkPlay(ca), clientPlay(ca), certificatesPlay()];
const hostsOf = (inventory: Inventory, play: Play) =>
  inventory.hosts.filter((h) =>
    play.hosts.some((g) => g === "all" || g === h.name || inventory.groups[g]?.includes(h.name)),
  );

/** The undeclared reads of one resource; any other error (a parser refusing empty output, a fake CA) is not this test's. */
function undeclared(resource: Resource, probes: Probes): string[] {
  try {
    planOne(resource, probes);
  } catch (err) {
    if (err instanceof UndeclaredFactError) return [`${resource.name}: ${err.fact}`];
  }
  return [];
}

describe("resources read only the facts they declare", () => {
  it("the checker fails a resource that reads another's fact", () => {
    const other = defineFact("other", raw("true"), () => "x");
    const sneaky: Resource = { name: "Sneaky", facts: [], plan: (read) => (read(other) ? null : null) };
    expect(() => planOne(sneaky, () => "")).toThrow(UndeclaredFactError);
    expect(() => planOne(sneaky, () => "")).toThrow(/"Sneaky" read fact other, which it does not declare/);
    expect(undeclared(sneaky, () => "")).toEqual(["Sneaky: other"]);
    // Declared: read as gathered.
    expect(planOne(file({ path: "/x", content: "" }), () => "absent\n")?.summary).toBe("create");
  });

  for (const [which, inventory] of [
    ["the pilot", pilot],
    ["a mesh with clients", withClients],
  ] as const)
    for (const play of plays) {
      it(`${which}, ${play.name}: every task of every host`, () => {
        const hosts = hostsOf(inventory, play);
        if (which === "the pilot" && play.hosts.includes("clients")) return expect(hosts).toEqual([]);
        expect(hosts.length).toBeGreaterThan(0);
        const found: string[] = [];
        let planned = 0;
        for (const host of hosts) {
          const os = host.os ?? "debian";
          for (const init of os === "openwrt" ? (["initd"] as const) : (["systemd", "initd"] as const)) {
            const { tasks } = playTasks(play, inventory, host.name, { facts: identified(os, host.name, init) });
            for (const resource of tasks) {
              // ip -j facts need JSON: "[]" is a host with none of them.
              found.push(
                ...undeclared(resource, () => ""),
                ...undeclared(resource, () => ["", 1]),
                ...undeclared(resource, () => "[]"),
              );
              planned++;
            }
          }
        }
        expect(planned).toBeGreaterThan(0);
        expect([...new Set(found)]).toEqual([]);
      });
    }
});
