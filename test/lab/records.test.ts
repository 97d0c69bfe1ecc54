// Records and concurrency on the pilot's network (issue 11), through the commands people type: the CA's register
// complete after an enrollment killed right after the certificate reached the router (and rebuilt from the routers by
// deploy-hub), a re-run with a changed --up-mbit applied to the inventory, the router's caps and the card alike, and two
// deploy-hub runs at once from the kitchen: the second waits for the first, then converges with zero changes; a third
// told not to wait refuses naming the holder.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { loadInventory } from "../../lib/inventory/load.ts";
import { CaStore } from "../../lib/pki/ca-store.ts";
import { certFromPem, fingerprint } from "../../lib/pki/cert.ts";
import { pilotMeshUp, type PilotMesh } from "./pilot-mesh.ts";

const PASSPHRASE = "lab CA passphrase records";
const ROUTER = "router-a";
const ENROLL_TIMEOUT = 300_000;
let mesh: PilotMesh;
let store: CaStore;

interface Ran {
  code: number | null;
  out: string;
  killed: boolean;
  /** When it started and ended (ms since the epoch). */
  started: number;
  ended: number;
}

/** A command run as a person runs it: in a laptop's namespace, `npx tsx <file> -i <inventory> ...`. */
function cli(
  netns: string,
  file: string,
  args: string[],
  options: { env?: Record<string, string>; killWhen?: () => boolean } = {},
): Promise<Ran> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn("ip", ["netns", "exec", netns, "npx", "tsx", file, "-i", mesh.lab.inventoryPath, ...args], {
      env: { ...process.env, MESH_CA_PASSPHRASE: PASSPHRASE, ...options.env },
      detached: true,
    });
    let out = "";
    let killed = false;
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    // Polled often: the kill must land right after the certificate file appears, long before the run would finish.
    const watch = options.killWhen
      ? setInterval(() => {
          if (!killed && options.killWhen!()) {
            killed = true;
            process.kill(-child.pid!, "SIGKILL");
          }
        }, 5)
      : undefined;
    child.on("close", (code) => {
      clearInterval(watch);
      resolve({ code, out, killed, started, ended: Date.now() });
    });
  });
}

/** The router's certificate file, read through its init's root (its chroot and mount namespace), or null. */
const routerCertPem = (): string | null => {
  const path = `/proc/${mesh.lab.host(ROUTER).pid}/root/etc/nebula/host.crt`;
  try {
    const text = readFileSync(path, "utf8");
    return text.includes("END NEBULA CERTIFICATE") ? text : null;
  } catch {
    return null;
  }
};
const routerFingerprint = () => fingerprint(certFromPem(routerCertPem()!));

const enrollArgs = (upMbit: number) => [
  "--address",
  "192.168.8.1",
  "--name",
  ROUTER,
  "--volunteer",
  "Ada Lovelace",
  "--contact",
  "+1 217 555 0199",
  "--up-mbit",
  String(upMbit),
  "--down-mbit",
  "20",
];
const enroll = async (upMbit: number, killWhen?: () => boolean) => {
  await mesh.lab.installer.plugInto(ROUTER);
  try {
    return await cli(mesh.lab.laptop("installer").netns, "tasks/enroll-uplink.ts", enrollArgs(upMbit), {
      env: { ROUTER_NEW_PASSWORD: "records test root pw" },
      killWhen,
    });
  } finally {
    await mesh.lab.installer.unplug();
  }
};
const deployHub = (env: Record<string, string> = {}) =>
  cli(mesh.lab.laptop("kitchen").netns, "tasks/deploy-hub.ts", [], { env });
const changedOf = (out: string) =>
  [...out.matchAll(/^(\S+)\s+ok=\d+\s+changed=(\d+)/gm)].map((m) => [m[1], Number(m[2])] as [string, number]);

beforeAll(async () => {
  mesh = await pilotMeshUp({
    passphrase: PASSPHRASE,
    hosts: [
      { name: "hub", kind: "debian", group: "hub" },
      { name: ROUTER, kind: "openwrt", group: "uplinks", site: "home" },
    ],
    enroll: [],
  });
  store = new CaStore(join(dirname(mesh.lab.inventoryPath), "pki"));
}, 600_000);
afterAll(async () => {
  await mesh?.down();
});

describe("records and concurrency", () => {
  it(
    "an enrollment killed right after the certificate reached the router leaves it in the CA's register; the re-run confirms it",
    async () => {
      expect(routerCertPem()).toBeNull();
      const killed = await enroll(5, () => routerCertPem() !== null);
      expect(killed.killed, killed.out).toBe(true);
      const onRouter = routerFingerprint();
      console.log(`killed enrollment: its last line was ${JSON.stringify(killed.out.trim().split("\n").at(-1))}`);
      // What the killed run left: the router's certificate is in the register (sent as pending: recorded before delivery).
      expect(
        store
          .issued()
          .filter((e) => e.name === ROUTER)
          .map((e) => e.fingerprint),
      ).toContain(onRouter);

      const again = await enroll(5);
      expect(again.code, again.out).toBe(0);
      const entries = store.issued().filter((e) => e.name === ROUTER);
      expect(entries.map((e) => [e.fingerprint, e.pending])).toEqual([[routerFingerprint(), undefined]]);
    },
    2 * ENROLL_TIMEOUT,
  );

  it(
    "a register that lost the router's entry gets it back from deploy-hub, which says so",
    async () => {
      const onRouter = routerFingerprint();
      writeFileSync(store.issuedFile, JSON.stringify(store.issued().filter((e) => e.name !== ROUTER)));
      const run = await deployHub();
      expect(run.code, run.out).toBe(0);
      expect(run.out).toContain(`Added ${ROUTER}'s certificate (${onRouter.slice(0, 16)}...`);
      expect(
        store
          .issued()
          .filter((e) => e.name === ROUTER)
          .map((e) => [e.fingerprint, e.pending]),
      ).toEqual([[onRouter, undefined]]);
    },
    ENROLL_TIMEOUT,
  );

  it(
    "a re-run with a changed --up-mbit says what changes and applies it: inventory, the router's cap and the card agree",
    async () => {
      const run = await enroll(8);
      expect(run.code, run.out).toBe(0);
      expect(run.out).toContain("this run changes donated upload 5 Mbit/s -> 8 Mbit/s");
      expect(run.out).toMatch(/Donated:\s+8 Mbit\/s up, 20 Mbit\/s down/);
      const vars = loadInventory(mesh.lab.inventoryPath).hosts.find((h) => h.name === ROUTER)!.vars;
      expect(vars.bandwidth).toEqual({ up_mbit: 8, down_mbit: 20 });
      expect(vars.volunteer).toMatchObject({ name: "Ada Lovelace", contact: "+1 217 555 0199" });
      // The upload cap is on the IFB that Nebula's ingress goes to (roles/shaping): 8 Mbit/s now.
      const classes = (await mesh.lab.host(ROUTER).exec("tc class show dev ifb-mesh")).stdout;
      expect(classes).toMatch(/rate 8Mbit/);
      // The same answers again: nothing differs, nothing said.
      const same = await enroll(8);
      expect(same.code, same.out).toBe(0);
      expect(same.out).not.toContain("this run changes");
    },
    3 * ENROLL_TIMEOUT,
  );

  it(
    "two deploy-hub runs at once: the second waits for the first (naming it), then changes nothing; one told not to wait refuses",
    async () => {
      const runs = [deployHub(), deployHub()];
      // While they run, a third that must not wait is refused with the holder named.
      const deadline = Date.now() + 120_000;
      while (!existsSync(`${mesh.lab.inventoryPath}.run-lock`) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      const refused = await deployHub({ MESHISP_RUN_LOCK_WAIT: "0" });
      const [a, b] = await Promise.all(runs);
      expect([a.code, b.code], `${a.out}\n----\n${b.out}`).toEqual([0, 0]);
      const [first, second] = a.out.includes("Waiting for tasks/deploy-hub.ts") ? [b, a] : [a, b];
      expect(second.out).toMatch(/Waiting for tasks\/deploy-hub.ts .*\(root@.*, pid \d+\), running since .* to finish/);
      expect(second.out).toContain("is free: going on.");
      expect(first.out).not.toContain("Waiting for");
      const secs = (r: Ran) => ((r.ended - r.started) / 1000).toFixed(1);
      console.log(
        `two deploy-hub at once: first ${secs(first)} s, second ${secs(second)} s (it ended ${((second.ended - first.ended) / 1000).toFixed(1)} s after the first); refused in ${secs(refused)} s`,
      );
      console.log(second.out.split("\n").find((l) => l.startsWith("Waiting for")));
      for (const [host, changed] of changedOf(second.out)) expect(changed, `${host}: ${second.out}`).toBe(0);
      expect(changedOf(second.out).length).toBeGreaterThanOrEqual(2);
      for (const r of [a, b]) expect(r.out).not.toMatch(/RTNETLINK|Error: .*(qdisc|class|filter)|File exists/);
      expect(refused.code, refused.out).toBe(1);
      expect(refused.out).toMatch(/error: .* is in use by tasks\/deploy-hub.ts .*pid \d+\), running since /);
      expect(existsSync(`${mesh.lab.inventoryPath}.run-lock`)).toBe(false);
    },
    3 * ENROLL_TIMEOUT,
  );
});
