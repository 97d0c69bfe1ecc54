// Defaults of the base role; each may be overridden in the inventory (group or host vars) or with -e.
export const baseDefaults = {
  /** Route packets between interfaces: the hub, relays and uplinks all forward mesh traffic. */
  base_ip_forward: true,
  /** Who to call about this node; printed in /etc/meshisp/node.conf and the login banner. */
  base_contact: "Stone Soup Kitchen mesh team",
  /** Extra lines for the login banner. */
  base_banner_note: "This device is part of a community-owned network. Please do not unplug it.",
};
