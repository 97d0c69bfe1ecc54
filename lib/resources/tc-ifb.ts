// An IFB device, up: where a device's ingress is redirected so it can be shaped as egress.
import { sh, type Command } from "../command.ts";
import { tcDeviceFact } from "../facts/tc.ts";
import type { Resource, ResourceOptions } from "./resource.ts";

export interface IfbSpec extends ResourceOptions {
  name: string;
}

export const ifbCommands = {
  add: (name: string) => sh`ip link add name ${name} type ifb`,
  up: (name: string) => sh`ip link set dev ${name} up`,
};

export function ifbDevice(spec: IfbSpec): Resource {
  const live = tcDeviceFact(spec.name);
  return {
    name: `Create IFB device ${spec.name}`,
    notify: spec.notify,
    tags: spec.tags,
    facts: [live],
    plan(read) {
      const state = read(live);
      const commands: Command[] = [];
      if (!state.exists) commands.push(ifbCommands.add(spec.name));
      if (!state.up) commands.push(ifbCommands.up(spec.name));
      return commands.length ? { commands, summary: state.exists ? "bring up" : "create, up" } : null;
    },
  };
}
