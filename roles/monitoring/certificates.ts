// When every node's Nebula certificate ends, as Prometheus series on the hub, from the CA's register (Nebula 1.6 exports none).
import { UserError } from "../../lib/errors.ts";
import type { HostContext, Role } from "../../lib/play.ts";
import { caStoreFor } from "../../lib/pki/passphrase.ts";
import { file } from "../../lib/resources/file.ts";
import { monitoringDefaults } from "./defaults.ts";
import { certificateRules, type CertRegister } from "./inventory-rules.ts";
import { debianMonitoring } from "./os.ts";
import { prometheusReload, RELOAD_PROMETHEUS } from "./server.ts";

/** The CA's register of issued certificates (it holds no secret: no passphrase needed). */
function certRegisterOf(ctx: HostContext): CertRegister {
  const store = caStoreFor(ctx.inventory);
  if (!store.exists()) return { issued: [] };
  const ca = store.cert();
  return { issued: store.issued(), caName: ca.details.name, caNotAfter: ca.details.notAfter };
}

/**
 * A role of its own, run on the hub after every other play of a playbook (and after the register's writes have
 * settled): the register changes when a play issues a certificate, so a file written from it earlier in the same run
 * would change again on the next run.
 */
export const certificateMonitoringRole: Role = {
  name: "monitoring",
  defaults: monitoringDefaults,
  tasks(ctx) {
    if (ctx.os !== "debian")
      throw new UserError(
        `${ctx.host.name} (${ctx.host.source}) is the hub but not Debian: Prometheus runs from Debian's packages`,
      );
    const dir = debianMonitoring(ctx.facts.init).configDir;
    return [
      file({
        name: `Write ${dir}/rules/certificates.yml (when each node's certificate ends)`,
        path: `${dir}/rules/certificates.yml`,
        content: certificateRules(ctx.inventory, certRegisterOf(ctx)),
        notify: [RELOAD_PROMETHEUS],
      }),
    ];
  },
  handlers: (ctx) => [prometheusReload(ctx)],
};
