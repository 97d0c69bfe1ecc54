// The shape of one service of the hub's stack, as the inventory declares it (docker_services).

/** How a service shows it is healthy: the container's healthcheck and scripts/test-local-services.ts run the same probe. */
interface HealthProbe {
  kind: "http" | "metrics" | "dns" | "postgres" | "redis";
  /** URL path for http and metrics. */
  path?: string;
  /** Text the metrics page must contain. */
  expect?: string;
}

export type PublishOn = "mesh" | "lan" | "loopback" | string;

export interface StackService {
  image: string;
  /** The port it listens on, the same inside the container and on the hub ("<ip>:<port>:<port>"). */
  port: number;
  /** Where the port is published; ignored with hostNetwork. */
  publish?: PublishOn[];
  /** Uses the hub's network and binds the hub's addresses itself (DNS on :53, the node exporter). */
  hostNetwork?: boolean;
  /** Memory limit ("256m") and CPU share (0.5 = half a core). */
  memory: string;
  cpus: number;
  /** Other services it needs healthy before it starts. */
  uses?: ("postgres" | "redis")[];
  /** Where its data lives inside the container: a named volume is mounted there. */
  volume?: string;
  probe: HealthProbe;
}
