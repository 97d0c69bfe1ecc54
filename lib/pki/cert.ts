// Nebula v1 certificates: create a CA, sign host certificates within its limits, and say why a certificate is not valid.
import { UserError } from "../errors.ts";
import { cidrWithin, parseCidr } from "./cidr.ts";
import { checkSignature, fingerprint, signDetails, type NebulaCert, type NebulaCertDetails } from "./cert-format.ts";
import { durationMs, type Duration } from "./duration.ts";
import { generateEd25519 } from "./keys.ts";
import { BANNERS, fromPem } from "./pem.ts";

export * from "./cert-format.ts";
export { describeCert, describeCertJson } from "./describe.ts";

/** Host certificates start this much before "now", so a node whose clock runs a little behind accepts them. */
const CLOCK_SKEW_MS = 60_000;

const wholeSecond = (ms: number) => new Date(Math.floor(ms / 1000) * 1000);
const iso = (d: Date) => d.toISOString().replace(".000Z", "Z");

function checkGroups(groups: readonly string[], what: string) {
  for (const g of groups)
    if (!g || /[,\s]/.test(g))
      throw new UserError(`${what}: group "${g}" must be a non-empty word without commas or spaces`);
}

export interface CreateCaOptions {
  name: string;
  groups?: string[];
  ips?: string[];
  subnets?: string[];
  duration: Duration;
  now?: Date;
}

/** A new self-signed CA and its 64-byte Ed25519 key (seed, then public key): keep the key encrypted (ca-store.ts). */
export function createCA(options: CreateCaOptions): { cert: NebulaCert; key: Buffer } {
  if (!options.name.trim()) throw new UserError("the CA needs a name");
  const ips = options.ips ?? [];
  const subnets = options.subnets ?? [];
  ips.forEach((ip) => parseCidr(ip, "CA ip"));
  subnets.forEach((s) => parseCidr(s, "CA subnet"));
  checkGroups(options.groups ?? [], "CA");
  const { privateKey, publicKey } = generateEd25519();
  const notBefore = wholeSecond((options.now ?? new Date()).getTime());
  const details: NebulaCertDetails = {
    name: options.name,
    ips,
    subnets,
    groups: options.groups ?? [],
    notBefore,
    notAfter: wholeSecond(notBefore.getTime() + durationMs(options.duration, "CA duration")),
    publicKey,
    isCA: true,
    issuer: "",
  };
  return { cert: signDetails(details, privateKey), key: privateKey };
}

export interface SignHostOptions {
  ca: NebulaCert;
  caKey: Buffer;
  name: string;
  /** "10.0.4.65/16" */
  ip: string;
  groups: string[];
  subnets?: string[];
  /** Lifetime from now; by default, until one second before the CA expires (as nebula-cert sign does). */
  duration?: Duration;
  /** 32-byte X25519 public key, or its PEM ("NEBULA X25519 PUBLIC KEY"). */
  publicKey: Buffer | string;
  now?: Date;
}

/** Signs a host certificate; refuses (UserError) anything the CA does not allow, as nebula-cert sign does. */
export function signHostCert(o: SignHostOptions): NebulaCert {
  const what = `certificate for "${o.name}"`;
  if (!o.name.trim()) throw new UserError("a host certificate needs a name");
  parseCidr(o.ip, `${what}: ip`);
  (o.subnets ?? []).forEach((s) => parseCidr(s, `${what}: subnet`));
  checkGroups(o.groups, what);
  const publicKey =
    typeof o.publicKey === "string" ? fromPem(BANNERS.x25519Public, o.publicKey, `${what}: public key`) : o.publicKey;
  if (publicKey.length !== 32)
    throw new UserError(`${what}: the public key must be 32 bytes (X25519), not ${publicKey.length}`);
  const now = (o.now ?? new Date()).getTime();
  const notBefore = wholeSecond(Math.max(now - CLOCK_SKEW_MS, o.ca.details.notBefore.getTime()));
  const notAfter =
    o.duration === undefined
      ? wholeSecond(o.ca.details.notAfter.getTime() - 1000)
      : wholeSecond(now + durationMs(o.duration, `${what}: duration`));
  const cert = signDetails(
    {
      name: o.name,
      ips: [o.ip],
      subnets: o.subnets ?? [],
      groups: o.groups,
      notBefore,
      notAfter,
      publicKey,
      isCA: false,
      issuer: fingerprint(o.ca),
    },
    o.caKey,
  );
  const problems = verifyCert(cert, o.ca, new Date(Math.max(now, notBefore.getTime())));
  if (problems.length) throw new UserError(`refusing to sign the ${what}: ${problems.join("; ")}`);
  return cert;
}

/** Why `ca` cannot act as a CA at `now` (empty: it can). */
export function caProblems(ca: NebulaCert, now = new Date()): string[] {
  const d = ca.details;
  const problems: string[] = [];
  if (!d.isCA) problems.push(`the issuer certificate "${d.name}" is not a CA`);
  else if (!checkSignature(ca, d.publicKey))
    problems.push(`the CA certificate "${d.name}" is not self-signed (its signature does not match its own key)`);
  if (now > d.notAfter) problems.push(`the CA "${d.name}" expired on ${iso(d.notAfter)}`);
  if (now < d.notBefore) problems.push(`the CA "${d.name}" is not valid before ${iso(d.notBefore)}`);
  return problems;
}

/** Every reason this certificate is not valid under this CA at `now` (empty: valid). Never includes key material. */
export function verifyCert(c: NebulaCert, ca: NebulaCert, now = new Date()): string[] {
  const d = c.details;
  const limits = ca.details;
  const problems = caProblems(ca, now);
  const caFingerprint = fingerprint(ca);
  if (d.issuer !== caFingerprint)
    problems.push(`issued by another CA (issuer ${d.issuer || "none"}, expected ${caFingerprint})`);
  else if (!checkSignature(c, limits.publicKey)) problems.push("signature does not match the CA");
  if (now < d.notBefore) problems.push(`not valid before ${iso(d.notBefore)}`);
  if (now > d.notAfter) problems.push(`expired on ${iso(d.notAfter)}`);
  if (d.notAfter > limits.notAfter) problems.push(`outlives its CA (${iso(d.notAfter)} > ${iso(limits.notAfter)})`);
  if (d.notBefore < limits.notBefore)
    problems.push(`starts before its CA (${iso(d.notBefore)} < ${iso(limits.notBefore)})`);
  if (limits.groups.length)
    for (const g of d.groups)
      if (!limits.groups.includes(g))
        problems.push(`group "${g}" is not allowed by the CA (it allows ${limits.groups.join(", ")})`);
  if (limits.ips.length)
    for (const ip of d.ips)
      if (!limits.ips.some((o) => cidrWithin(ip, o)))
        problems.push(`ip ${ip} is outside the CA's networks ${limits.ips.join(", ")}`);
  if (limits.subnets.length)
    for (const s of d.subnets)
      if (!limits.subnets.some((o) => cidrWithin(s, o)))
        problems.push(`subnet ${s} is outside the CA's subnets ${limits.subnets.join(", ")}`);
  return problems;
}
