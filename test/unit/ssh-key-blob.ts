// A fresh SSH ed25519 public key blob (string "ssh-ed25519", string key), as a server presents its host key.
import { generateKeyPairSync } from "node:crypto";

const sshString = (b: Buffer) => {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(b.length);
  return Buffer.concat([length, b]);
};

export function ed25519HostKeyBlob(): Buffer {
  const raw = generateKeyPairSync("ed25519").publicKey.export({ format: "der", type: "spki" }).subarray(-32);
  return Buffer.concat([sshString(Buffer.from("ssh-ed25519")), sshString(raw)]);
}
