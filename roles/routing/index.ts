// The routing role: the hub spreads the community's traffic over every live uplink (Starlink as the last tier).
// Three parts: routingHubRole on the hub, routingUplinkRole on each uplink, routingClientRole on clients (hub.ts, uplink.ts, client.ts).
export { routingHubRole } from "./hub.ts";
export { routingUplinkRole } from "./uplink.ts";
export { routingClientRole } from "./client.ts";
export { routingDefaults } from "./defaults.ts";
