// Defaults of the docker role (Docker Engine + the hub's compose stack); override them in the inventory or with -e.
import type { StackService } from "./stack-types.ts";

export const dockerDefaults = {
  /**
   * Run the container stack on this host. Off by default: the mesh itself (Nebula, routing, shaping, DNS, monitoring)
   * needs no Docker, and the lab has no images to pull; a hub with Docker turns it on in the inventory.
   */
  docker_enabled: false,
  /**
   * Services of the stack this hub runs WITHOUT Docker (docker_enabled false), natively: the DNS cache (roles/dns)
   * and the node exporter (roles/monitoring). scripts/test-local-services.ts checks these there; with
   * docker_enabled it checks all of docker_services instead.
   */
  docker_native_services: ["dns", "node-exporter"] as string[],
  /** Where Docker comes from: "debian" (docker.io + docker-compose 1.29, Debian's own) or "docker" (Docker's apt repository). */
  docker_source: "debian" as "debian" | "docker",
  /** Docker's apt repository and its signing key (docker_source: docker). */
  docker_apt_repository: "https://download.docker.com/linux/debian",
  docker_apt_key_url: "https://download.docker.com/linux/debian/gpg",
  /** Debian release name for Docker's repository. */
  docker_apt_codename: "bookworm",
  /** The compose project: container names and the label the role reads back to know what runs. */
  docker_project: "meshisp",
  /** Where the compose file lives on the hub. */
  docker_dir: "/opt/meshisp",
  /** Env files with the services' passwords (0600, root only); never in the compose file itself. */
  docker_secrets_dir: "/etc/meshisp/secrets",
  /**
   * Addresses a published port may use besides the hub's mesh IP, LAN address and 127.0.0.1, e.g. ["0.0.0.0"].
   * Empty: nothing of the stack is reachable from the kitchen's router or the internet.
   */
  docker_extra_publish_addresses: [] as string[],
  /** Healthcheck timing for every service. */
  docker_health_interval: "30s",
  docker_health_timeout: "5s",
  docker_health_retries: 3,
  docker_health_start_period: "30s",
  /** Restart policy for every service. */
  docker_restart: "unless-stopped",
  /** Log rotation (json-file) per container: the hub's disk is small. */
  docker_log_max_size: "10m",
  docker_log_max_files: 3,
  /**
   * The nine services of the hub's stack: image and tag, the port (the same inside and on the hub), where it is
   * published ("mesh", "lan", "loopback" or an address in docker_extra_publish_addresses), limits, and the health
   * probe, which is both the container's healthcheck and what scripts/test-local-services.ts runs. Services on the
   * host network (dns, node-exporter) bind the hub's addresses themselves and publish nothing.
   * The four community apps are the project's own images: set their real registry and tags here per hub.
   */
  docker_services: {
    "barter-cache": {
      image: "ghcr.io/wopr-mesh/barter-cache:1.0.0",
      port: 8081,
      publish: ["mesh", "lan"],
      memory: "256m",
      cpus: 0.5,
      uses: ["postgres", "redis"],
      volume: "/var/lib/barter-cache",
      probe: { kind: "http", path: "/healthz" },
    },
    "mutual-credit": {
      image: "ghcr.io/wopr-mesh/mutual-credit:1.0.0",
      port: 8082,
      publish: ["mesh", "lan"],
      memory: "256m",
      cpus: 0.5,
      uses: ["postgres"],
      volume: "/var/lib/mutual-credit",
      probe: { kind: "http", path: "/healthz" },
    },
    "brainjoos-sync": {
      image: "ghcr.io/wopr-mesh/brainjoos-sync:1.0.0",
      port: 8083,
      publish: ["mesh", "lan"],
      memory: "384m",
      cpus: 0.5,
      uses: ["postgres", "redis"],
      volume: "/var/lib/brainjoos-sync",
      probe: { kind: "http", path: "/healthz" },
    },
    "emergency-broadcast": {
      image: "ghcr.io/wopr-mesh/emergency-broadcast:1.0.0",
      port: 8084,
      publish: ["mesh", "lan"],
      memory: "128m",
      cpus: 0.25,
      uses: ["redis"],
      volume: "/var/lib/emergency-broadcast",
      probe: { kind: "http", path: "/healthz" },
    },
    dns: {
      // Runs dnsmasq with the dns role's files (one config, one owner: see roles/dns/defaults.ts).
      image: "docker.io/dockurr/dnsmasq:2.91",
      port: 53,
      hostNetwork: true,
      memory: "64m",
      cpus: 0.25,
      probe: { kind: "dns" },
    },
    postgres: {
      image: "docker.io/library/postgres:15-alpine",
      port: 5432,
      publish: ["loopback"],
      memory: "512m",
      cpus: 1,
      volume: "/var/lib/postgresql/data",
      probe: { kind: "postgres" },
    },
    redis: {
      // No password: it is reachable only on the stack's own network and the hub's loopback (not the mesh, not the LAN).
      image: "docker.io/library/redis:7.2-alpine",
      port: 6379,
      publish: ["loopback"],
      memory: "128m",
      cpus: 0.25,
      volume: "/data",
      probe: { kind: "redis" },
    },
    "node-exporter": {
      // Takes the place of the monitoring role's native exporter on this hub (same address and port): that role
      // leaves its own out where docker_enabled is true, so only one binds the port.
      image: "quay.io/prometheus/node-exporter:v1.8.2",
      port: 9100,
      hostNetwork: true,
      memory: "64m",
      cpus: 0.25,
      probe: { kind: "metrics", path: "/metrics", expect: "node_cpu_seconds_total" },
    },
    cadvisor: {
      image: "gcr.io/cadvisor/cadvisor:v0.49.1",
      port: 8089,
      publish: ["mesh"],
      memory: "256m",
      cpus: 0.5,
      probe: { kind: "metrics", path: "/metrics", expect: "container_cpu_usage_seconds_total" },
    },
  } as Record<string, StackService>,
  /** The database and user the apps share. */
  docker_postgres_user: "mesh",
  docker_postgres_db: "mesh",
};

/** Per-source values: which packages bring the engine and compose, and how compose is called. */
export const dockerSourceVars = {
  debian: { packages: ["docker.io", "docker-compose"], compose: ["docker-compose"] },
  docker: {
    packages: ["docker-ce", "docker-ce-cli", "containerd.io", "docker-compose-plugin"],
    compose: ["docker", "compose"],
  },
} as const;
