// Argon2id in a worker thread, so the seconds a derivation takes (64 MiB, 3 passes in pure JS) never stall the run's
// event loop: SSH keepalives, connection timeouts and progress output of running sessions go on meanwhile.
// @noble/hashes 1.8.0's argon2idAsync does not do this under Node: it "yields" by awaiting an already-resolved promise,
// a microtask, so no timer or socket callback runs until it ends (measured: a 10 ms interval ticked 0 times during an
// 8.5 s derivation). The worker runs noble's synchronous argon2id; same bytes, and the main thread stays free.
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

export interface Argon2idInput {
  password: Uint8Array;
  salt: Uint8Array;
  /** noble's options: t passes, m KiB, p lanes, dkLen bytes out. */
  options: { t: number; m: number; p: number; dkLen: number; maxmem?: number };
}

// The CommonJS build, loaded by path: an eval'd worker has no module resolution relative to this file.
const NOBLE_ARGON2 = createRequire(import.meta.url).resolve("@noble/hashes/argon2");

const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const { argon2id } = require(workerData.module);
parentPort.postMessage(argon2id(workerData.password, workerData.salt, workerData.options));
`;

export function argon2idOffThread({ password, salt, options }: Argon2idInput): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // No execArgv: the worker is plain CommonJS and needs no TypeScript loader (tsx's would only slow its start).
    const worker = new Worker(WORKER, {
      eval: true,
      execArgv: [],
      workerData: { module: NOBLE_ARGON2, password, salt, options },
    });
    let result: Buffer | undefined;
    worker.once("message", (bytes: Uint8Array) => (result = Buffer.from(bytes)));
    worker.once("error", reject);
    worker.once("exit", (code) =>
      result ? resolve(result) : reject(new Error(`the Argon2 worker exited with code ${code} and no result`)),
    );
  });
}
