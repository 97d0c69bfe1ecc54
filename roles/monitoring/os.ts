// Per-OS values of the monitoring role: packages, binaries, paths and service names.
import type { InitSystem } from "../../lib/facts/host.ts";

/**
 * Debian's packages, and the service names the role runs them under. Under systemd the packages' own units
 * (prometheus, prometheus-alertmanager, prometheus-node-exporter) run them: they already drop privileges to the
 * `prometheus` user with a hardened unit and read their arguments from /etc/default/<name>, which the role writes;
 * a unit of our own would have to mask theirs. Without systemd (the lab's procd-style init) the role writes its own
 * init scripts under other names, so the packages' LSB scripts in /etc/init.d stay as dpkg installed them.
 */
export const debianMonitoring = (init: InitSystem) => ({
  packages: {
    prometheus: "prometheus",
    alertmanager: "prometheus-alertmanager",
    nodeExporter: "prometheus-node-exporter",
  },
  bin: {
    prometheus: "/usr/bin/prometheus",
    alertmanager: "/usr/bin/prometheus-alertmanager",
    nodeExporter: "/usr/bin/prometheus-node-exporter",
  },
  service:
    init === "systemd"
      ? { prometheus: "prometheus", alertmanager: "prometheus-alertmanager", nodeExporter: "prometheus-node-exporter" }
      : { prometheus: "mesh-prometheus", alertmanager: "mesh-alertmanager", nodeExporter: "mesh-node-exporter" },
  configDir: "/etc/prometheus",
  /** Data directories of the Debian packages (owned by the prometheus user). */
  tsdbDir: "/var/lib/prometheus/metrics2",
  alertmanagerDataDir: "/var/lib/prometheus/alertmanager",
  textfileDir: "/var/lib/prometheus/node-exporter",
});

/** OpenWrt's exporter: Lua collectors served by uhttpd, configured through UCI, started by the package's procd script. */
export const openwrtExporter = {
  package: "prometheus-node-exporter-lua",
  bin: "/usr/bin/prometheus-node-exporter-lua",
  service: "prometheus-node-exporter-lua",
  uciFile: "/etc/config/prometheus-node-exporter-lua",
};
