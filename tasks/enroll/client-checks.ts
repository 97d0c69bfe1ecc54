// What a member's machine must offer before it is enrolled as a mesh client: Debian 12 or later, and what every node needs.
import { routerProblems, type RouterFacts } from "./checks.ts";

/** The oldest Debian a client may run: 12 ships nebula 1.6.1 (relays, the mesh's certificates); 11 ships 1.3. */
const OLDEST_CLIENT_DEBIAN = 12;

/**
 * Every reason a member's machine cannot be a mesh client now, each with what to do: a Debian machine (the client play
 * installs Debian's packages and services) of release 12 or later ("trixie/sid" and the like are newer), then what
 * every node needs (a package manager, free space, a sane clock).
 */
export function clientProblems(f: RouterFacts): string[] {
  if (f.os !== "debian")
    return [
      `it runs ${f.description}: a mesh client is a member's Debian machine (Debian ${OLDEST_CLIENT_DEBIAN} or later); a router joins with tasks/enroll-uplink.ts`,
    ];
  const major = Number(f.release.split(".")[0]);
  const problems =
    Number.isFinite(major) && /^\d/.test(f.release) && major < OLDEST_CLIENT_DEBIAN
      ? [
          `Debian ${f.release} is older than ${OLDEST_CLIENT_DEBIAN}, whose nebula (1.6.1) the mesh needs: upgrade to Debian ${OLDEST_CLIENT_DEBIAN} or later`,
        ]
      : [];
  return [...problems, ...routerProblems(f)];
}
