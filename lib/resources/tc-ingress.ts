// Everything arriving on a device is redirected to another (an IFB) so it can be shaped there as egress; planned from the live tc state.
import { sh, type Command } from "../command.ts";
import { tcDeviceFact, type TcDeviceState } from "../facts/tc.ts";
import { waitForDevice } from "./tc-htb.ts";
import type { Resource, ResourceOptions } from "./resource.ts";

export interface IngressRedirectSpec extends ResourceOptions {
  device: string;
  to: string;
  waitSeconds?: number;
}

export const ingressCommands = {
  qdisc: (device: string) => sh`tc qdisc replace dev ${device} handle ffff: ingress`,
  /** One u32 rule matching every packet, with a fixed handle so `replace` finds it again. */
  redirect: (device: string, to: string) =>
    sh`tc filter replace dev ${device} parent ffff: protocol all prio 1 handle 800::800 u32 match u32 0 0 action mirred egress redirect dev ${to}`,
  clear: (device: string) => sh`tc filter del dev ${device} parent ffff:`,
};

const hasIngress = (state: TcDeviceState) => state.qdiscs.some((q) => q.kind === "ingress");

export function ingressRedirect(spec: IngressRedirectSpec): Resource {
  const live = tcDeviceFact(spec.device);
  return {
    name: `Redirect ${spec.device} ingress to ${spec.to}`,
    notify: spec.notify,
    tags: spec.tags,
    facts: [live],
    plan(read) {
      const state = read(live);
      const commands: Command[] = [];
      const changes: string[] = [];
      if (!state.exists) commands.push(waitForDevice(spec.device, spec.waitSeconds ?? 30));
      if (!hasIngress(state)) {
        commands.push(ingressCommands.qdisc(spec.device));
        changes.push("ingress qdisc");
      }
      const exact =
        state.ingressRedirects.length === 1 && state.ingressRedirects[0] === spec.to && state.otherIngressFilters === 0;
      if (hasIngress(state) && !exact && state.ingressRedirects.length + state.otherIngressFilters > 0) {
        commands.push(ingressCommands.clear(spec.device));
        changes.push(`replace ${state.ingressRedirects.length + state.otherIngressFilters} other filter(s)`);
      }
      if (!exact) {
        commands.push(ingressCommands.redirect(spec.device, spec.to));
        changes.push(`redirect to ${spec.to}`);
      }
      return changes.length ? { commands, summary: changes.join(", ") } : null;
    },
  };
}
