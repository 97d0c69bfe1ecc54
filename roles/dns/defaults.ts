// Defaults of the dns role (the hub's DNS cache); override them in the inventory (group or host vars) or with -e.
//
// One config, one owner: this role renders dnsmasq.conf and mesh.hosts into dns_dir, always. Who RUNS dnsmasq with
// them depends on docker_enabled: false -> the native service dns_service (systemd unit or procd-style init script);
// true -> the compose stack's "dns" service (roles/docker), which mounts dns_dir read-only on the host network, so
// both read the very same files and bind the very same addresses; this role then keeps the native service stopped.
export const dnsDefaults = {
  /** Run the DNS cache on the hub. */
  dns_enabled: true,
  /** Local names live under this domain: hub.mesh, barter.mesh, uplink-1.mesh. */
  dns_domain: "mesh",
  /** Names of the hub's own services, each answering with the hub's address on the side the query came from. */
  dns_service_names: ["hub", "barter", "credit", "sync", "broadcast", "db", "monitor"],
  /** More local records: { "printer": "10.42.0.20" }. */
  dns_extra_records: {} as Record<string, string>,
  /** Upstream resolvers for everything else (answers are cached; local names never leave the hub). */
  dns_forwarders: ["9.9.9.9", "149.112.112.112"],
  /** Answers kept in the cache (dnsmasq's cache-size). */
  dns_cache_size: 10000,
  /** TTL, in seconds, of local answers. */
  dns_local_ttl: 60,
  /** Also answer on 127.0.0.1 (the hub itself, and checks run on it). */
  dns_listen_loopback: true,
  /** Where the config lives (mounted as is into the compose service). */
  dns_dir: "/etc/meshisp/dns",
  /** Name of the native service (not "dnsmasq": never fights the distribution's own). */
  dns_service: "mesh-dns",
  /** The hub's LAN address; default: the first address of lan_subnet (the hub is the LAN's router). */
  dns_lan_address: "",
};

/** Per-OS values: the hub is Debian. dig comes along: scripts/test-local-services.ts asks with it on the hub. */
export const dnsOsVars = {
  dns_package: "dnsmasq-base",
  dns_bin: "/usr/sbin/dnsmasq",
  dns_tools_package: "bind9-dnsutils",
};
