// Commands quote every interpolated value for POSIX sh and never show a secret.
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { quote, raw, secret, sh } from "../../lib/command.ts";
import { printfFormat } from "../../lib/resources/write-file.ts";
import { HOSTILE } from "../hostile.ts";

describe("quote", () => {
  it.each(HOSTILE)("round-trips %j through dash and busybox ash", (value) => {
    for (const shell of [["/bin/dash"], ["/bin/busybox", "ash"]]) {
      const out = execFileSync(shell[0], [...shell.slice(1), "-c", `printf '%s' ${quote(value)}`]).toString();
      expect(out).toBe(value);
    }
  });

  it("leaves safe words bare and never uses $'...'", () => {
    expect(quote("abc-1.2/x")).toBe("abc-1.2/x");
    expect(quote("a'b")).toBe(`'a'\\''b'`);
    for (const v of HOSTILE) expect(quote(v).startsWith("$'")).toBe(false);
  });
});

describe("sh", () => {
  it("quotes each interpolation and each array element", () => {
    expect(sh`ls ${"a b"} ${["c", "d e"]}`.render()).toBe(`ls 'a b' c 'd e'`);
    expect(sh`echo ${3}`.render()).toBe("echo 3");
    expect(sh`x ${raw("$HOME")}`.render()).toBe("x $HOME");
  });

  it("masks secrets in display but not in the rendered command", () => {
    const c = sh`echo ${secret("hunter2")} > /etc/pass`;
    expect(c.render()).toBe("echo hunter2 > /etc/pass");
    expect(c.display()).toBe("echo *** > /etc/pass");
    expect(String(c)).not.toContain("hunter2");
    expect(JSON.stringify({ c: secret("hunter2") })).not.toContain("hunter2");
    expect(c.hasSecret).toBe(true);
  });
});

describe("printfFormat", () => {
  const samples = [...HOSTILE, "\x00\x01\xff binary", "100%\\n literal"];
  it.each(samples)("reproduces %j byte for byte in dash and busybox ash", (value) => {
    const data = Buffer.from(value, "latin1");
    for (const shell of [["/bin/dash"], ["/bin/busybox", "ash"]]) {
      const out = execFileSync(shell[0], [...shell.slice(1), "-c", `printf '${printfFormat(data)}'`]);
      expect(out.equals(data)).toBe(true);
    }
  });
});
