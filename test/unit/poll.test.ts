// The tests' one way to wait: polls until a condition holds, and fails at its deadline saying what it waited for.
import { describe, expect, it } from "vitest";
import { waitFor } from "../helpers/poll.ts";

describe("waitFor", () => {
  it("returns the first truthy value, as soon as it comes", async () => {
    let calls = 0;
    const start = Date.now();
    expect(await waitFor("the third call", () => (++calls >= 3 ? `call ${calls}` : ""), { everyMs: 5 })).toBe("call 3");
    expect(Date.now() - start).toBeLessThan(1000);
  });
  it("fails at the deadline with what it waited for and the last value", async () => {
    const start = Date.now();
    await expect(waitFor("a port to open", async () => 0, { timeoutMs: 120, everyMs: 10 })).rejects.toThrow(
      /timed out after 120 ms waiting for a port to open \(last: 0\)/,
    );
    expect(Date.now() - start).toBeGreaterThanOrEqual(120);
  });
});
