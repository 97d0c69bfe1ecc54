// Timeouts that a busy event loop cannot fake. Node runs due timers before it polls for I/O, so when other hosts' work
// held the loop past a deadline, the timer would fire before the reply that arrived in time is even read. Once due, the
// deadline waits for one poll (setImmediate runs after it) and expires only if nothing settled it meanwhile.

/** Calls `onExpire` after `ms` unless cancelled first; returns the cancel function. */
export function deadline(ms: number, onExpire: () => void): () => void {
  let live = true;
  let immediate: NodeJS.Immediate | undefined;
  const timer = setTimeout(() => {
    immediate = setImmediate(() => live && ((live = false), onExpire()));
  }, ms);
  return () => {
    live = false;
    clearTimeout(timer);
    if (immediate) clearImmediate(immediate);
  };
}

/** `work`, or a rejection with `message` once `ms` passed; a result that arrives late goes to `late` (to close it). */
export function withDeadline<T>(work: Promise<T>, ms: number, message: string, late?: (value: T) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let expired = false;
    const cancel = deadline(ms, () => {
      expired = true;
      reject(Object.assign(new Error(message), { timedOut: true }));
    });
    work.then(
      (value) => (expired ? late?.(value) : (cancel(), resolve(value))),
      (err: unknown) => !expired && (cancel(), reject(err)),
    );
  });
}
