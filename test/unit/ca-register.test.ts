// The CA's register (issued.json) is never behind the nodes: a certificate is entered before it is sent (an enrollment
// killed right after delivery leaves it recorded), and a run adds any valid certificate of this CA that a node carries
// and the register lacks. The nebula role's identity resource through the real runner, against a real local shell.
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { TransportError } from "../../lib/errors.ts";
import type { Host, Inventory } from "../../lib/inventory/types.ts";
import type { Play } from "../../lib/play.ts";
import { openAuthority, type OpenAuthority } from "../../lib/pki/authority.ts";
import { CaStore } from "../../lib/pki/ca-store.ts";
import { certFromPem, fingerprint } from "../../lib/pki/cert.ts";
import { runHost } from "../../lib/runner/host-run.ts";
import { RecordingReporter } from "../../lib/runner/report.ts";
import type { Transport } from "../../lib/transport/types.ts";
import { nebulaIdentity, type CertRequest } from "../../roles/nebula/identity.ts";
import { certificateRules } from "../../roles/monitoring/inventory-rules.ts";
import { hubCarriesInternet } from "../../tasks/enroll/client.ts";
import { shellTransport } from "../helpers/shell-transport.ts";
import { CHEAP_ARGON2, tempDir } from "./fixtures/pki/helpers.ts";

const PASS = "correct horse battery staple";
const REQUEST: CertRequest = { name: "uplink-1", ip: "10.0.4.65/16", groups: ["uplink"], subnets: [], days: 90 };
const host: Host = {
  name: "uplink-1",
  address: "local",
  port: 22,
  user: "root",
  group: "uplinks",
  vars: {},
  source: "test",
};
const inventory = { file: "test", knownHosts: "", hosts: [host] } as unknown as Inventory;

/** A node in a temp dir (its Nebula files in `dir`), and the CA beside an inventory of its own. */
async function setup(label: string) {
  const root = tempDir(label);
  const store = new CaStore(join(root, "pki"));
  await store.create({
    name: "Register CA",
    passphrase: PASS,
    groups: ["hub", "uplink"],
    ips: ["10.0.4.0/16"],
    duration: "365d",
    argon2: CHEAP_ARGON2,
  });
  const dir = join(root, "node", "nebula");
  mkdirSync(dir, { recursive: true });
  const transport = shellTransport("dash", { stateDir: join(root, "state") });
  return { root, store, dir, transport, ca: await openAuthority(store, PASS) };
}

const play = (ca: OpenAuthority, dir: string, request = REQUEST): Play => ({
  name: "identity",
  hosts: ["all"],
  roles: [{ name: "nebula", defaults: {}, tasks: () => [nebulaIdentity({ dir, ca, request, renewDays: 30 })] }],
});

async function converge(ca: OpenAuthority, dir: string, transport: Transport, request = REQUEST) {
  const recap = await runHost(
    play(ca, dir, request),
    host,
    inventory,
    async () => transport,
    {},
    new RecordingReporter(),
  );
  return { recap, added: await ca.settle() };
}

/** The transport as an enrollment killed right after the node got its files: the script ran, nothing came back. */
const killedAfterDelivery = (transport: Transport, seen: { register?: string }, issuedFile: string): Transport => ({
  ...transport,
  get target() {
    return transport.target;
  },
  get roundTrips() {
    return transport.roundTrips;
  },
  async run(command, options) {
    const result = await transport.run(command, options);
    if (String(options?.stdin ?? "").includes("NEBULA CERTIFICATE")) {
      // The moment the node has the certificate: what the register holds then is all a killed run leaves.
      seen.register = existsSync(issuedFile) ? readFileSync(issuedFile, "utf8") : "";
      throw new TransportError(transport.target, "killed (the installer's laptop lost power)");
    }
    return result;
  },
});

const onNode = (dir: string) => fingerprint(certFromPem(readFileSync(join(dir, "host.crt"), "utf8")));

describe("the register is never behind the nodes", () => {
  it("a run killed right after the certificate reached the node leaves it in the register; the next run confirms it", async () => {
    const { store, dir, transport, ca } = await setup("killed");
    const seen: { register?: string } = {};
    const killed = await converge(ca, dir, killedAfterDelivery(transport, seen, store.issuedFile));
    expect(killed.recap.failed + Number(killed.recap.unreachable)).toBeGreaterThan(0);
    const fp = onNode(dir);
    // Already in the register at the moment of delivery (recorded before it was sent), and still there.
    expect(seen.register).toContain(fp);
    expect(store.issued()).toEqual([expect.objectContaining({ name: "uplink-1", fingerprint: fp, pending: true })]);

    // The next run (a fresh process: a new authority) finds the certificate on the node good, keeps it, confirms it.
    const again = await openAuthority(store, PASS);
    const second = await converge(again, dir, transport);
    expect(second.recap).toMatchObject({ failed: 0, changed: 0 });
    expect(onNode(dir)).toBe(fp);
    expect(store.issued()).toEqual([expect.not.objectContaining({ pending: true })]);
    expect(store.issued()[0].fingerprint).toBe(fp);
    expect(second.added.map((s) => [s.entry.fingerprint, s.was])).toEqual([[fp, "pending"]]);
    // A third changes nothing, and writes nothing.
    const before = readFileSync(store.issuedFile, "utf8");
    const third = await converge(await openAuthority(store, PASS), dir, transport);
    expect([third.recap.changed, third.added]).toEqual([0, []]);
    expect(readFileSync(store.issuedFile, "utf8")).toBe(before);
  });

  it("a register that lacks what a node carries gets it back from the next run (and --check only says it would)", async () => {
    const { store, dir, transport, ca } = await setup("reconcile");
    expect((await converge(ca, dir, transport)).recap).toMatchObject({ failed: 0, changed: 1 });
    const fp = onNode(dir);
    rmSync(store.issuedFile);

    const check = await openAuthority(store, PASS);
    await runHost(play(check, dir), host, inventory, async () => transport, { check: true }, new RecordingReporter());
    expect((await check.settle({ check: true })).map((s) => [s.entry.fingerprint, s.was])).toEqual([[fp, "missing"]]);
    expect(existsSync(store.issuedFile)).toBe(false);

    const { recap, added } = await converge(await openAuthority(store, PASS), dir, transport);
    expect(recap.changed).toBe(0);
    expect(added.map((s) => [s.entry.name, s.entry.fingerprint, s.was])).toEqual([["uplink-1", fp, "missing"]]);
    expect(store.issued().map((e) => [e.fingerprint, e.pending])).toEqual([[fp, undefined]]);
  });

  it("a foreign CA's certificate on a node is not added to the register", async () => {
    const { dir, transport, ca } = await setup("foreign-a");
    await converge(ca, dir, transport);
    const other = await setup("foreign-b");
    // The node carries a certificate of the first CA; the second CA's run replaces it and registers only its own.
    const { recap } = await converge(other.ca, dir, transport);
    expect(recap.changed).toBe(1);
    expect(other.store.issued().map((e) => [e.fingerprint, e.pending])).toEqual([[onNode(dir), undefined]]);
  });

  it("a renewal that never reaches the node keeps the node's own entry beside the pending one; a later run leaves only the new", async () => {
    const { store, dir, transport, ca } = await setup("renewal");
    await converge(ca, dir, transport);
    const old = onNode(dir);
    // Groups change (a new certificate is due), and the connection dies before the script is sent.
    const changed = { ...REQUEST, groups: ["uplink", "hub"] };
    const dead: Transport = {
      ...transport,
      target: transport.target,
      roundTrips: 0,
      async run(command, options) {
        if (String(options?.stdin ?? "").includes("NEBULA CERTIFICATE")) throw new TransportError("x", "cut");
        return transport.run(command, options);
      },
    };
    const cut = await openAuthority(store, PASS);
    await runHost(play(cut, dir, changed), host, inventory, async () => dead, {}, new RecordingReporter());
    await cut.settle();
    expect(onNode(dir)).toBe(old);
    const entries = store.issued();
    expect(entries.map((e) => [e.fingerprint === old, e.pending])).toEqual([
      [true, undefined],
      [false, true],
    ]);
    // Both are watched: the older end still alerts.
    const rules = certificateRules({ ...inventory, hosts: [host] } as Inventory, { issued: entries });
    for (const e of entries) expect(rules).toContain(e.fingerprint.slice(0, 16));

    await converge(await openAuthority(store, PASS), dir, transport, changed);
    expect(store.issued().map((e) => [e.fingerprint, e.pending])).toEqual([[onNode(dir), undefined]]);
    expect(onNode(dir)).not.toBe(old);
  });
});

describe("a pending certificate claims nothing for the hub", () => {
  it("the hub's internet halves count only when every entry of the hub has them", async () => {
    const { root, store, ca } = await setup("hub-internet");
    const inv = {
      file: join(root, "hosts.yml"),
      hosts: [{ ...host, name: "hub", group: "hub" }],
    } as unknown as Inventory;
    const issue = (subnets: string[]) =>
      certFromPem(
        ca.issue(
          { name: "hub", ip: "10.0.4.1/16", groups: ["hub"], subnets, days: 30 },
          ca.generateKeyPair().publicKeyPem,
        ),
      );
    await store.record(issue([]));
    await store.recordPending(issue(["0.0.0.0/1", "128.0.0.0/1"]));
    expect(hubCarriesInternet(inv)).toBe(false);
    await store.record(issue(["0.0.0.0/1", "128.0.0.0/1"]));
    expect(hubCarriesInternet(inv)).toBe(true);
  });
});
