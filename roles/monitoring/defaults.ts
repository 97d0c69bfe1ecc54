// Defaults of the monitoring role; override them in the inventory (group or host vars) or with -e.
export const monitoringDefaults = {
  /**
   * Run an exporter of the host's own metrics (CPU, memory, disk, traffic) on this node; false skips it on this host.
   * A hub with docker_enabled runs the stack's node-exporter container instead (same address and port).
   */
  monitoring_node_exporter: true,
  /** Port of the node exporter on the node's mesh address (the hub scrapes it through the tunnel). */
  monitoring_node_exporter_port: 9100,
  /**
   * OpenWrt nodes: install the Lua exporter from the opkg feed. false where the feed has no such package (the lab's
   * stand-in feed: its image has no Lua); the hub then scrapes only the node's Nebula stats.
   */
  monitoring_openwrt_exporter: true,
  /**
   * OpenWrt: the netifd interface the Lua exporter binds to; "*" for every address, since nebula1 is no netifd interface.
   * Only the hub reaches it: Nebula's firewall, and the routing role's fw4 input include rejects the port otherwise.
   */
  monitoring_openwrt_listen_interface: "*",

  /** Names this mesh on every series and alert (Prometheus's external label "mesh"): useful once two meshes share a receiver. */
  monitoring_mesh_name: "community-mesh",
  /** How often Prometheus scrapes every target and evaluates rules (the lab uses 1s). */
  monitoring_scrape_interval: "15s",
  monitoring_evaluation_interval: "15s",
  /** A scrape slower than this counts as failed; keep it under the interval. */
  monitoring_scrape_timeout: "10s",
  /** Where Prometheus listens: loopback only; Grafana (host network) and the mesh team's SSH tunnel reach it there. */
  monitoring_prometheus_listen: "127.0.0.1:9090",
  /** How long Prometheus keeps samples; the hub's disk is small. */
  monitoring_retention: "30d",
  monitoring_alertmanager_listen: "127.0.0.1:9093",

  /** How long an uplink's tunnel or link must stay down before it alerts (short blips are Nebula reconnecting). */
  monitoring_uplink_down_for: "2m",
  /** A hub service (Prometheus, Alertmanager, Grafana, the failover checker, the stack) down this long alerts. */
  monitoring_service_down_for: "2m",
  /** Alert when a node certificate (or the CA) ends within this many days and nobody has renewed it. */
  monitoring_cert_warn_days: 30,
  /** Mesh latency: a scrape of a node's Nebula stats through the tunnel slower than this, for 10 minutes, alerts. */
  monitoring_mesh_latency_seconds: 0.5,
  /** Round trip through an uplink to the internet (measured by the failover checker) above this, for 10 minutes. */
  monitoring_uplink_rtt_seconds: 0.3,
  /** A filesystem with less than this fraction free, or on course to fill within a day, alerts. */
  monitoring_disk_free_ratio: 0.1,

  /** Port of the hub's failover checker's metrics, on the hub's mesh address (see the routing role). */
  monitoring_failover_port: 9102,
  /** Other services of the hub's stack that serve Prometheus metrics: [{ name, target: "host:port", path? }]. */
  monitoring_service_targets: [] as { name: string; target: string; path?: string }[],

  /** Who hears of alerts: a webhook (chat bridge, ntfy, ...) and/or e-mail. With neither, alerts stay on the hub's Alertmanager page and Grafana. */
  monitoring_alert_webhook_url: "",
  monitoring_alert_email_to: "",
  monitoring_alert_email_from: "mesh-alerts@localhost",
  /** SMTP relay for alert e-mail, host:port. */
  monitoring_alert_smarthost: "localhost:25",
  /** How often a still-firing alert is sent again: critical ones sooner. */
  monitoring_alert_repeat_interval: "4h",
  monitoring_alert_critical_repeat_interval: "1h",

  /**
   * Grafana, in a container (not packaged in Debian 12) with its own small compose file, on hubs that run Docker
   * (docker_enabled, see the docker role, whose compose command it uses). Otherwise, or false: provisioning files only.
   */
  monitoring_grafana: true,
  monitoring_grafana_image: "docker.io/grafana/grafana-oss:10.4.2",
  monitoring_grafana_port: 3000,
  /** Where the role keeps Grafana's compose file and provisioning on the hub. */
  monitoring_grafana_dir: "/etc/meshisp/grafana",
};

export type MonitoringVars = typeof monitoringDefaults;
