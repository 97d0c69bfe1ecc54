// OpenWrt's fw4 rejects whatever arrives on an interface in no zone (nebula1, mu-hub): include files in its input and
// forward chains admit the mesh's own traffic, from the hub only. Copies under /etc/meshisp/fw4 (same layout as
// /usr/share/nftables.d, which a sysupgrade does not keep) let the restore service put them back after an upgrade.
import { varsOf, type HostContext } from "../../lib/play.ts";
import { directory } from "../../lib/resources/directory.ts";
import { file } from "../../lib/resources/file.ts";
import type { Resource } from "../../lib/resources/resource.ts";
import { renderTemplate } from "../../lib/template.ts";
import { monitoringDefaults } from "../monitoring/defaults.ts";
import { nebulaDefaults } from "../nebula/defaults.ts";
import { sameRadio } from "../nebula/endpoints.ts";
import type { Host } from "../../lib/inventory/types.ts";
import type { TunnelSpec } from "./tunnel.ts";

/** fw4's automatic include points (chain-pre/input lands after `iif lo accept`; chain-post/input is unreachable). */
export const FW4_INCLUDE_ROOT = "/usr/share/nftables.d";
/** Kept across sysupgrade (listed by the sysupgrade role): the restore service copies it back to FW4_INCLUDE_ROOT. */
export const FW4_INCLUDE_COPY = "/etc/meshisp/fw4";
const FW4_INCLUDE_NAME = "30-meshisp.nft";
export const RELOAD_FW4 = "reload fw4";

export interface Fw4Include {
  /** Relative to FW4_INCLUDE_ROOT, e.g. "chain-pre/input/30-meshisp.nft". */
  path: string;
  content: string;
}

export interface MeshAdmission {
  hubIp: string;
  /** Nebula's tun device, where the hub's VXLAN, scrapes and SSH arrive. */
  meshDev: string;
  tunnel: TunnelSpec;
  /** Sources the hub sends through the tunnel: its LAN, the mesh clients. */
  sources: string[];
  sshPort: number;
  statsPort: number;
  exporterPort: number;
  /**
   * On a router with a radio port to the kitchen (`radio_device`, in no fw4 zone on a stock config): Nebula's UDP from
   * the hub's radio address and port. Replies to the router's own handshakes pass as established; what needs this is
   * the hub starting a tunnel (or punching) toward the router, as after the hub restarts.
   */
  radio?: { dev: string; hubAddress: string; hubPort: number };
}

/** The mesh's admission on an uplink, from its context (ports from the nebula and monitoring roles' vars or defaults). */
export function meshAdmission(
  ctx: HostContext,
  hubIp: string,
  tunnel: TunnelSpec,
  sources: string[],
  hub?: Host,
): MeshAdmission {
  const v = ctx.vars;
  const radioDev = v.radio_device as string | undefined;
  const radio =
    hub && radioDev && sameRadio(ctx.host, hub)
      ? {
          dev: radioDev,
          hubAddress: hub.vars.radio_address as string,
          hubPort: (varsOf(ctx, hub).nebula_port as number | undefined) ?? nebulaDefaults.nebula_port,
        }
      : undefined;
  return {
    ...(radio ? { radio } : {}),
    hubIp,
    meshDev: (v.nebula_tun_dev as string | undefined) ?? nebulaDefaults.nebula_tun_dev,
    tunnel,
    sources,
    // dropbear's own port on the router (the inventory's port may be a forward on the volunteer's NAT).
    sshPort: 22,
    statsPort: (v.nebula_stats_port as number | undefined) ?? nebulaDefaults.nebula_stats_port,
    exporterPort:
      (v.monitoring_node_exporter_port as number | undefined) ?? monitoringDefaults.monitoring_node_exporter_port,
  };
}

/** The two include files: input (the hub's VXLAN, SSH, stats, exporter, ping on nebula1) and forward (through mu-hub). */
export function fw4Includes(a: MeshAdmission): Fw4Include[] {
  const tcp = [...new Set([a.sshPort, a.statsPort, a.exporterPort])];
  return [
    {
      path: `chain-pre/input/${FW4_INCLUDE_NAME}`,
      content: renderTemplate("routing/fw4-input.nft.hbs", {
        radio: a.radio,
        mesh_dev: a.meshDev,
        hub_ip: a.hubIp,
        vxlan_port: a.tunnel.port,
        tunnel_dev: a.tunnel.dev,
        tcp_ports: tcp,
        exporter_port: a.exporterPort,
      }),
    },
    {
      path: `chain-pre/forward/${FW4_INCLUDE_NAME}`,
      // The hub's end of the tunnel is the source of its health probes through this uplink.
      content: renderTemplate("routing/fw4-forward.nft.hbs", {
        dev: a.tunnel.dev,
        sources: [...a.sources, `${a.tunnel.peer}/32`],
      }),
    },
  ];
}

const dirOf = (path: string) => path.replace(/\/[^/]+$/, "");

/** The include files where fw4 reads them (reloading fw4 when they change) and their kept copies. */
export function fw4IncludeResources(a: MeshAdmission): Resource[] {
  return fw4Includes(a).flatMap((inc) => [
    directory({ path: dirOf(`${FW4_INCLUDE_ROOT}/${inc.path}`) }),
    file({ path: `${FW4_INCLUDE_ROOT}/${inc.path}`, content: inc.content, notify: [RELOAD_FW4] }),
    directory({ path: dirOf(`${FW4_INCLUDE_COPY}/${inc.path}`) }),
    file({ path: `${FW4_INCLUDE_COPY}/${inc.path}`, content: inc.content }),
  ]);
}
