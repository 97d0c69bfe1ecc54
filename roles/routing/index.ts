// The routing role: the hub spreads the community's traffic over every live uplink (Starlink as the last tier).
// Two parts: routingHubRole on the hub, routingUplinkRole on each uplink; see hub.ts and uplink.ts.
export { routingHubRole, FAILOVER_SERVICE, METRICS_SERVICE } from "./hub.ts";
export { routingUplinkRole } from "./uplink.ts";
export { routingDefaults } from "./defaults.ts";
