// test-local-services --from-here: each HTTP service the kitchen LAN is given, asked from this machine (real sockets on
// loopback standing in for the hub's LAN address): PASS for one that answers, FAIL naming the service for one that does not.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadInventory } from "../../lib/inventory/load.ts";
import { declaredOnHub } from "../../scripts/local-services/declared.ts";
import { checkFromHere } from "../../scripts/local-services/from-here.ts";

let server: Server;
let port = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    res.statusCode = req.url === "/healthz" ? 200 : 503;
    res.end("ok\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** A hub whose LAN address is loopback: barter-cache answers there, mutual-credit's port is closed, cAdvisor is mesh-only. */
function declaration() {
  const file = join(mkdtempSync(join(tmpdir(), "meshisp-here-")), "hosts.yml");
  writeFileSync(
    file,
    `groups:
  hub:
    hosts:
      hub: { address: 127.0.0.1, os: debian, mesh_ip: 10.0.4.1, vars: { lan_subnet: 127.0.0.0/8, docker_enabled: true } }
`,
  );
  const decl = declaredOnHub(loadInventory(file), {});
  const closed = port === 65535 ? 65534 : port + 1;
  const keep = ["barter-cache", "mutual-credit", "cadvisor", "postgres"];
  decl.services = decl.services
    .filter((s) => keep.includes(s.name))
    .map((s) => ({
      ...s,
      spec: { ...s.spec, port: s.name === "barter-cache" ? port : s.name === "mutual-credit" ? closed : s.spec.port },
    }));
  return decl;
}

describe("checks from this machine at the hub's LAN address", () => {
  it("passes what answers, fails by name what does not, and leaves out what the LAN is not given", async () => {
    const decl = declaration();
    expect(decl.lan).toBe("127.0.0.1");
    const results = await checkFromHere(decl);
    expect(results.map((r) => [r.service, r.ok])).toEqual([
      ["barter-cache (LAN)", true],
      ["mutual-credit (LAN)", false],
    ]);
    expect(results[0].detail).toBe(`http://127.0.0.1:${port}/healthz from this machine: HTTP 200`);
    expect(results[1].detail).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/healthz from this machine: ECONNREFUSED$/);
  });

  it("a hub without a LAN address gives nothing to check from here", async () => {
    const decl = { ...declaration(), lan: undefined };
    expect(await checkFromHere(decl)).toEqual([]);
  });
});
