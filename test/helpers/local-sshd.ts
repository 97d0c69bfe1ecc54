// An SSH server on loopback that runs each command under this machine's dash, for command-line tests that need a
// real run (connect, identify, gather, apply) without a lab. The engine's state dir (/etc/meshisp) is moved into a
// temp dir, so the run writes nothing outside it; a command whose channel closes is killed (a quitting runner).
import { spawn } from "node:child_process";
import { createServer, type AddressInfo, type Server } from "node:net";
import ssh2 from "ssh2";
import { STATE_DIR } from "../../lib/facts/host.ts";

export interface LocalSshd {
  port: number;
  /** Commands started, in order (their text after the state dir's move). */
  commands: string[];
  close(): Promise<void>;
}

export async function localSshd(stateDir: string): Promise<LocalSshd> {
  const hostKey = ssh2.utils.generateKeyPairSync("ed25519").private;
  const commands: string[] = [];
  const sshd = new ssh2.Server({ hostKeys: [hostKey] }, (client) => {
    client.on("authentication", (ctx) => (ctx.method === "publickey" ? ctx.accept() : ctx.reject(["publickey"])));
    client.on("session", (accept) =>
      accept().on("exec", (ok, _reject, info) => {
        const stream = ok();
        const text = info.command.replaceAll(STATE_DIR, stateDir);
        commands.push(text);
        const child = spawn("/bin/dash", ["-c", text], { stdio: ["pipe", "pipe", "pipe"] });
        stream.pipe(child.stdin).on("error", () => undefined);
        child.stdout.pipe(stream, { end: false });
        child.stderr.pipe(stream.stderr, { end: false });
        child.on("close", (code) => {
          stream.exit(code ?? 255);
          stream.end();
        });
        stream.on("close", () => child.exitCode === null && child.kill("SIGTERM"));
      }),
    );
    client.on("error", () => undefined);
  });
  const server: Server = createServer((socket) => sshd.injectSocket(socket));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as AddressInfo).port,
    commands,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
