// Defaults of the routing role (hub and uplink parts); override them in the inventory (group or host vars) or with -e.
export const routingDefaults = {
  /** Point-to-point /31s for the tunnels: uplink 10.0.4.n gets <prefix>.(2n) on the hub's side and <prefix>.(2n+1) on its own. */
  routing_transfer_prefix: "10.0.253",
  /** VXLAN UDP port inside the overlay (Nebula's firewall lets the hub and its uplinks reach each other on any port). */
  routing_vxlan_port: 4789,
  /** nebula1 is 1300; VXLAN over IPv4 costs 50 bytes. TCP MSS is clamped to fit. */
  routing_tunnel_mtu: 1250,
  /** The tunnel's name on an uplink (on the hub each uplink's tunnel is mu<n>, n the last octet of its mesh IP). */
  routing_uplink_tunnel: "mu-hub",
  /** Routing table of the community's internet-bound traffic on the hub (multipath over uplinks, or the backup). */
  routing_table: 100,
  /** Per-uplink tables (base + n) the health checker's probes use, so each probe leaves through its own tunnel. */
  routing_probe_table_base: 200,
  /** Priority of the first policy rule on the hub; the others follow. */
  routing_rule_priority: 1000,
  /** Sources whose internet traffic goes out through the uplinks: the hub's LAN (lan_subnet) is added when set. */
  routing_client_ranges: ["10.0.4.128/25"],
  /** The last tier, used only when every terrestrial uplink is down: { device, gateway } (Starlink), or null. */
  routing_backup: null as null | { device: string; gateway: string; masquerade?: boolean },
  /** A distant address the checker pings through each uplink (an anycast resolver on the real internet). */
  routing_probe_target: "9.9.9.9",
  /** Seconds between probe rounds, seconds a probe may take, misses before an uplink is down, answers before it is up. */
  routing_probe_interval: 0.2,
  routing_probe_timeout: 0.3,
  routing_down_after: 2,
  routing_up_after: 3,
  /** Where the checker's Prometheus metrics are served (default: the hub's mesh IP, port 9102). */
  routing_metrics_port: 9102,
  /** Destinations the mesh may never reach through an uplink: the volunteer's home and other private networks. */
  routing_uplink_forbidden: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16"],
  /** QoS on the hub: HTB on the LAN (rate: sum of the uplinks' down_mbit unless set) and on each tunnel (its up_mbit). */
  routing_qos: true,
  routing_qos_lan_mbit: 0,
  /** The hub's LAN interface for QoS; null: the interface with the route to lan_subnet (no lan_subnet: no LAN QoS). */
  routing_lan_device: null as string | null,
  /** Traffic classes: ports (TCP and UDP) and DSCP names that go to each; everything else is "default". */
  routing_qos_emergency_dscp: ["cs6", "cs7"],
  routing_qos_emergency_ports: [] as number[],
  routing_qos_interactive_dscp: ["ef", "cs5", "af41"],
  routing_qos_interactive_ports: [53, 22, 3478, 5060] as number[],
  routing_qos_bulk_dscp: ["cs1"],
  routing_qos_bulk_ports: [] as number[],
};

export type RoutingVars = typeof routingDefaults;
