// Started inside a laptop's network namespace (ip netns exec): opens one TCP connection there and hands the connected
// socket to the parent over Node's IPC channel, then exits. The parent gets a real socket whose traffic starts in that
// namespace (a socket keeps the namespace it was made in), so nothing has to relay bytes.
// Usage (by laptop.ts only): node connector.mjs HOST PORT TIMEOUT_MS
import { connect } from "node:net";

const [host, port, timeoutMs] = process.argv.slice(2);
// The error's code (ECONNREFUSED, EHOSTUNREACH) or timedOut goes along: the runner tells "down" from "slow" by them.
const fail = (message, why) => process.send({ error: message, ...why }, () => process.exit(1));
const socket = connect({ host, port: Number(port) });
const timer = setTimeout(() => {
  socket.destroy();
  fail(`no connection to ${host}:${port} within ${timeoutMs} ms`, { timedOut: true });
}, Number(timeoutMs));
socket.once("error", (err) => {
  clearTimeout(timer);
  fail(`${err.code ?? "error"}: ${err.message}`, err.code ? { code: err.code } : {});
});
socket.once("connect", () => {
  clearTimeout(timer);
  // Paused before any byte is read here, so whatever the server sends first is read by the parent.
  socket.pause();
  process.send({ connected: true }, socket, () => process.exit(0));
});
