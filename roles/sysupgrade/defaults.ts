// Defaults of the sysupgrade role (OpenWrt only); override them in the inventory (group or host vars) or with -e.
export const sysupgradeDefaults = {
  /** After a firmware upgrade, how long the restore service keeps retrying opkg (the WAN may come up late); the next boot tries again. */
  sysupgrade_restore_deadline_seconds: 1800,
  /** Seconds between its attempts (whole seconds: OpenWrt's BusyBox sleep takes no fractions). */
  sysupgrade_restore_retry_seconds: 10,
};

export type SysupgradeVars = typeof sysupgradeDefaults;
