// The inventory as the engine sees it once loaded and validated.

export type OsFamily = "debian" | "openwrt";

/** Mesh roles with a reserved slice of 10.0.4.0/16 (DESIGN.md). */
export type MeshGroup = "hub" | "relays" | "uplinks" | "clients" | "admins";

export interface Host {
  name: string;
  /** Where the runner reaches it over SSH: the inventory's `address`, or its mesh IP when it has none (a node managed over the mesh). */
  address: string;
  port: number;
  user: string;
  /** When known (written by enrollment, or by the lab); otherwise detected on first contact. */
  os?: OsFamily;
  /** The group that defines this host (hub, relays, uplinks, clients or any other name). */
  group: string;
  /** The host to reach it through (effective var `ssh_via`): a TCP channel opened from that host's SSH connection. */
  via?: string;
  /** 10.0.4.x, explicit or allocated from the group's range; absent for groups outside the mesh plan. */
  meshIp?: string;
  /** Merged variables: inventory vars < group vars < host vars (role defaults and -e are merged by the runner). */
  vars: Record<string, unknown>;
  /** Where the host is defined, for messages: "inventory/pilot/hosts.yml:42". */
  source: string;
}

export interface Inventory {
  /** The YAML file this came from. */
  file: string;
  /** known_hosts file pinning host keys; default: beside the inventory file. */
  knownHosts: string;
  /** Private key the runner logs in with; default ~/.ssh/id_ed25519 or the inventory's ssh_key. */
  sshKey?: string;
  /** Where ssh_key is set ("hosts.yml:10"), for messages about the key. */
  sshKeySource?: string;
  hosts: Host[];
  groups: Record<string, string[]>;
  vars: Record<string, unknown>;
}
