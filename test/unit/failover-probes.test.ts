// The failover test's probes for real, on loopback: a web server that stops answering new connections for a second
// (a cut uplink's black hole) and a hub whose route changes; the LAN probes keep starting a connection every 0.1 s
// while earlier ones hang (a sequential loop started about one a second there, and its figure was a second late).
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runLocal, type FailoverAccess } from "../../scripts/failover/access.ts";
import { connectionRecovery, measureAround, routeChange, via } from "../../scripts/failover/measure.ts";

const dir = mkdtempSync(join(tmpdir(), "failover-probes-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the failover test's probes", () => {
  it("a connection every 0.1 s through a one-second black hole: the figure is when they work again", async () => {
    let hole = false;
    const held: Socket[] = [];
    // Answers HTTP at once, or, in the hole, accepts and never answers (curl's -m 1 ends it, as a lost SYN would).
    const server = createServer((socket) => {
      if (hole) {
        held.push(socket);
        return;
      }
      socket.once("data", () => socket.end("HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n"));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    // The hub's route, read by a stand-in `ip` from a file the "cut" rewrites.
    const route = join(dir, "route");
    writeFileSync(
      route,
      "default nexthop via 10.0.253.131 dev mu65 weight 1 nexthop via 10.0.253.133 dev mu66 weight 1",
    );
    writeFileSync(join(dir, "ip"), `#!/bin/sh\ncat ${route}\n`);
    chmodSync(join(dir, "ip"), 0o755);
    const access = {
      pingTarget: "127.0.0.1",
      url: `http://127.0.0.1:${port}/`,
      table: 100,
      lan: (cmd: string) => runLocal(["sh", "-c", cmd]),
      hub: (cmd: string) => runLocal(["sh", "-c", `PATH=${dir}:$PATH; ${cmd}`]),
    } as unknown as FailoverAccess;
    let cutAt = 0;
    try {
      const m = await measureAround(access, 2.5, async () => {
        hole = true;
        cutAt = Date.now() / 1000;
        setTimeout(() => writeFileSync(route, "default via 10.0.253.133 dev mu66 "), 400);
        setTimeout(() => (hole = false), 1000);
      });
      const inHole = m.attempts.filter((a) => a.t >= cutAt && a.t < cutAt + 0.9);
      const recovery = connectionRecovery(m);
      const detail = JSON.stringify({ recovery, attempts: m.attempts.map((a) => [+(a.t - cutAt).toFixed(2), a.ok]) });
      // Attempts kept starting while earlier ones hung: several in the hole, each failed there (curl timed out).
      expect(inHole.length, detail).toBeGreaterThanOrEqual(4);
      expect(
        inHole.every((a) => !a.ok && a.code === 28),
        detail,
      ).toBe(true);
      // They work again from the end of the hole: the first attempt after it, not the end of one that hung.
      expect(recovery, detail).not.toBeNull();
      expect(recovery!, detail).toBeGreaterThan(0.85);
      expect(recovery!, detail).toBeLessThan(1.6);
      expect(
        m.attempts.filter((a) => a.t > cutAt + 1.6).every((a) => a.ok),
        detail,
      ).toBe(true);
      // The route poll saw mu65 leave about 0.4 s after the cut; pings on loopback all came back.
      const switched = routeChange(m, (r) => !via("mu65")(r));
      expect(switched, JSON.stringify(m.routes.slice(0, 3))).not.toBeNull();
      expect(switched!).toBeGreaterThan(0.3);
      expect(switched!).toBeLessThan(1);
      expect(m.pingSent).toBeGreaterThan(50);
      expect(m.pingLost).toBe(0);
    } finally {
      for (const s of held) s.destroy();
      await new Promise((r) => server.close(r));
    }
  }, 30_000);
});
