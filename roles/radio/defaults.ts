// Defaults of the radio-port role; override them in the inventory (group or host vars) or with -e.
export const radioDefaults = {
  /** The UCI interface (/etc/config/network) that gives the router's radio port its address. */
  radio_interface: "meshradio",
  /** How long to wait for netifd to put the address on the port after a reload (it applies it asynchronously). */
  radio_wait_seconds: 10,
};
