// The client enrollment's answers, each a flag or a question (tasks/enroll/field.ts), with one rule per answer: a flag
// is refused naming it, a typed answer is asked again with the same reason. All checked before any host is contacted.
import { isIpv4 } from "../../lib/pki/cidr.ts";
import { accept, fromFlag, nameField, portField, refuse, textField, type Field } from "./field.ts";

export const CLIENT_HINT = "run npx tsx tasks/enroll-client.ts --help";

const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?$/;

export const CLIENT_FIELDS = {
  /** An IPv4 address or a host name (the machine's name on its home LAN, e.g. from the member's router). */
  address: {
    flag: "address",
    question: "The machine's address on its LAN",
    judge(text) {
      const t = text.trim();
      if (!t) return refuse("the machine's address is required: it cannot be empty (e.g. 192.168.1.23)");
      const ok = /^[\d.]+$/.test(t) ? isIpv4(t) : HOST_NAME.test(t);
      return ok
        ? accept(t)
        : refuse(
            `${JSON.stringify(text)} is not the machine's address on its LAN: expected an IPv4 address such as 192.168.1.23, or its name`,
          );
    },
  } satisfies Field<string>,
  member: textField("member", "Member's name", "the member's name"),
  contact: textField("contact", "Member's phone or e-mail", "the member's phone or e-mail"),
  location: textField("location", "Where is the machine (optional)", "where the machine is", true),
  // Flags only (no question).
  port: portField("the machine's SSH port"),
  name: nameField("client-3"),
};

export type ClientFlags = Partial<Record<keyof typeof CLIENT_FIELDS, string>>;

/** Every flag given on the command line, checked at once, before anything is asked or contacted. */
export function checkClientFlags(values: ClientFlags): void {
  for (const [key, field] of Object.entries(CLIENT_FIELDS) as [keyof typeof CLIENT_FIELDS, Field<unknown>][]) {
    const given = values[key];
    if (given !== undefined) fromFlag(field, given, CLIENT_HINT);
  }
}
