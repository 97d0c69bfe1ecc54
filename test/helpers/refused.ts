// Bad input in tests: the error a call throws (the test fails if it does not), and an inventory refused as a user sees it.
import { readFileSync } from "node:fs";
import { expect } from "vitest";
import { InventoryError, UserError } from "../../lib/errors.ts";
import { loadInventory } from "../../lib/inventory/load.ts";

/** What `call` throws, checked to be a `kind` (a UserError unless told); fails the test if it returns. */
export function thrownBy<E extends Error = UserError>(
  call: () => unknown,
  kind: abstract new (...args: never[]) => E = UserError as never,
): E {
  let error: unknown;
  try {
    call();
  } catch (e) {
    error = e;
  }
  expect(error, "what the call threw").toBeInstanceOf(kind);
  return error as E;
}

/**
 * Why loading the inventory `file` (holding `text`) is refused: an InventoryError naming the file, with no stack frame
 * in it, and the file left byte for byte as it was.
 */
export function inventoryRefusal(file: string, text: string | Buffer): string {
  const { message } = thrownBy(() => loadInventory(file), InventoryError);
  expect(message).toContain(file);
  expect(message).not.toMatch(/\bat .*\.ts:\d+/);
  expect(readFileSync(file)).toEqual(Buffer.isBuffer(text) ? text : Buffer.from(text));
  return message;
}
