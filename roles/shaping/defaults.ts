// Defaults of the shaping role; override them in the inventory (group or host vars) or with -e. The caps themselves come from `bandwidth`.
export const shapingDefaults = {
  /** The Nebula tun device: its egress is the mesh's download through this uplink, its ingress the mesh's upload (what each spends of the volunteer's line, radio or not: caps.ts). */
  shaping_mesh_device: "nebula1",
  /** The IFB device the mesh device's ingress is redirected to, so uploads can be shaped as egress (at most 15 characters). */
  shaping_ifb_device: "ifb-mesh",
  /** Leaf queues to use under the cap, best first, where the kernel has them; otherwise a fifo of the length below. */
  shaping_leaf_qdiscs: ["fq_codel", "cake"] as string[],
  /** The fifo fallback holds this many milliseconds of traffic at the cap (the kernel's default 1000 packets hold seconds at a few Mbit). */
  shaping_fifo_ms: 50,
  /** ... counted in packets of this size (Nebula's MTU), and never fewer than shaping_fifo_min_packets. */
  shaping_packet_bytes: 1300,
  shaping_fifo_min_packets: 10,
  /** The watcher service that puts the caps back when the Nebula device is created again (restart, crash, reboot). */
  shaping_service: "meshisp-shaping",
  /** How often, in seconds, the watcher checks that the caps are in place (one `tc qdisc show` per device). */
  shaping_watch_seconds: 1,
  /** The script the watcher runs (`apply` or `watch`). */
  shaping_script: "/etc/meshisp/shaping.sh",
  /** How long a run waits for the Nebula device when Nebula was started by the same run. */
  shaping_device_wait_seconds: 30,
  /**
   * Install iperf3 on the uplink, so a maintainer can always measure the caps (scripts/test-shaping.ts runs its client
   * there, toward a server on the hub: nothing is opened on the router). A default OpenWrt image lacks it; it is small.
   */
  shaping_iperf3: true,
};
