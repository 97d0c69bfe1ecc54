// Waiting in tests: poll a condition until a deadline, never a fixed sleep (a slow machine waits longer, a fast one less).

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Calls `probe` every `everyMs` until it returns something truthy (returned) or `timeoutMs` has passed (then throws,
 * saying what was awaited and the last value seen).
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | Promise<T>,
  { timeoutMs = 10_000, everyMs = 50 } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() >= deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(value)})`);
    await pause(everyMs);
  }
}

/**
 * Waits until something listens on TCP `port` where `exec` runs (a lab namespace or a Debian host: iproute2's ss).
 * For daemons started in the background, such as `iperf3 -s -D`, which returns before it listens.
 */
export async function untilListening(
  where: { exec(cmd: string): Promise<{ stdout: string }> },
  port: number,
  { timeoutMs = 10_000 } = {},
): Promise<void> {
  await waitFor(
    `a TCP listener on port ${port}`,
    async () => (await where.exec(`ss -Hltn 'sport = :${port}'`)).stdout.includes(`:${port}`),
    { timeoutMs },
  );
}
