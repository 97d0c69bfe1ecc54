// Defaults of the nebula role; override them in the inventory (group or host vars) or with -e.
export const nebulaDefaults = {
  /** UDP port Nebula listens on. Lighthouses and relays need a fixed, reachable one. */
  nebula_port: 4242,
  /** Port for nodes that are neither lighthouse nor relay; 0 picks a random one (better behind NAT). */
  nebula_node_port: 0,
  /** Where config, keys and certificates live on the node. */
  nebula_dir: "/etc/nebula",
  /** The service's name; not "nebula", so it never fights the distribution's own unit or init script. */
  nebula_service: "nebula-mesh",
  nebula_tun_dev: "nebula1",
  /** Fits inside a 1500-byte path with PPPoE and Nebula's overhead. */
  nebula_mtu: 1300,
  nebula_log_level: "info",
  /** Prometheus stats endpoint on the node's mesh address. */
  nebula_stats_port: 9101,
  /** Lifetime of a node certificate, and how close to its end a run renews it. */
  nebula_cert_days: 365,
  nebula_renew_days: 30,
  /** Use relays to reach (and be reached) when UDP hole punching fails, e.g. behind CGNAT or blocked UDP. */
  nebula_use_relays: true,
  /** UDP port on each relay forwarded to the hub's Nebula port, for nodes whose UDP to the hub is blocked; 0: off. */
  nebula_relay_forward_port: 4243,
  /** Extra certificate groups for this node on top of its type's. */
  nebula_groups: [] as string[],
  /** Subnets this node routes for the mesh (signed into its certificate), e.g. the hub's LAN. */
  nebula_subnets: [] as string[],
  /** Routes through other nodes' subnets: [{ route, via }]. */
  nebula_unsafe_routes: [] as { route: string; via: string }[],
  /**
   * On a client: send its internet traffic through the hub (and so the uplinks) instead of its own line. Not prefixed:
   * one switch read by this role (the client's routes, the hub's certificate) and routing's client part (underlay routes).
   */
  client_internet_via_mesh: false,
};
