// A shell with only OpenWrt 23.05's default BusyBox applets on PATH (this machine's busybox, linked per applet), and dash beside it.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** A copy of shared/openwrt/busybox-applets-openwrt-23.05.txt (24.10 adds only setsid). */
const APPLETS = fileURLToPath(new URL("./unit/fixtures/openwrt/busybox-applets-23.05.txt", import.meta.url));

/** Applets of OpenWrt 23.05's default BusyBox that this machine's BusyBox also has (Debian's lacks a few: flock, lock, ...). */
export function openwrtPath(): string {
  const dir = mkdtempSync(join(tmpdir(), "owrt-applets-"));
  const wanted = readFileSync(APPLETS, "utf8").split(/\s+/).filter(Boolean);
  const have = new Set(execFileSync("/bin/busybox", ["--list"]).toString().split("\n"));
  for (const applet of wanted) if (have.has(applet)) symlinkSync("/bin/busybox", join(dir, applet));
  return dir;
}

export interface Shell {
  name: string;
  run(script: string, stdin?: string): { stdout: string; code: number };
}

/** BusyBox ash restricted to OpenWrt's applets, and dash with the machine's full PATH (GNU tools). */
export function shells(): Shell[] {
  const owrt = openwrtPath();
  const run =
    (argv: string[], env: NodeJS.ProcessEnv) =>
    (script: string, stdin = "") => {
      try {
        return {
          stdout: execFileSync(argv[0], [...argv.slice(1), "-c", script], { env, input: stdin }).toString(),
          code: 0,
        };
      } catch (err) {
        const e = err as { stdout?: Buffer; status?: number };
        return { stdout: e.stdout?.toString() ?? "", code: e.status ?? -1 };
      }
    };
  return [
    { name: "busybox ash with OpenWrt's applets", run: run([join(owrt, "ash")], { PATH: owrt }) },
    { name: "dash with GNU tools", run: run(["/bin/dash"], { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" }) },
  ];
}
