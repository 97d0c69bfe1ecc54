// The lab's default topology: the pilot in miniature.
import type { LabHostSpec } from "./index.ts";

/** The pilot in miniature: a hub with a LAN, a relay, three uplinks (two behind home NAT), a client. */
export const DEFAULT_TOPOLOGY: LabHostSpec[] = [
  { name: "hub", kind: "debian", group: "hub", lan: { subnet: "10.42.0.0/24" } },
  { name: "relay", kind: "debian", group: "relays" },
  { name: "uplink-1", kind: "openwrt", group: "uplinks", vars: { bandwidth: { up_mbit: 20, down_mbit: 100 } } },
  { name: "uplink-2", kind: "openwrt", group: "uplinks", home: {}, vars: { bandwidth: { up_mbit: 5, down_mbit: 20 } } },
  { name: "uplink-3", kind: "openwrt", group: "uplinks", home: {}, vars: { bandwidth: { up_mbit: 2, down_mbit: 5 } } },
  { name: "client-1", kind: "debian", group: "clients", home: {} },
];
