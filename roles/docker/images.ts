// Whether every image the compose file names is on the hub: `up` is never run with one missing, since docker-compose
// 1.29 would try to pull it (a hub with the internet cut, or an image never published, fails half-way through).
import { join, raw, sh, type Command } from "../../lib/command.ts";
import { UserError } from "../../lib/errors.ts";
import { defineFact, type Fact } from "../../lib/facts/fact.ts";

/** Service name -> image, as the compose file names them. */
export type StackImages = Record<string, string>;

export interface ImagesOnHub {
  /** The docker command exists (without it nothing can be said). */
  cli: boolean;
  /** Images `docker image inspect` did not find (empty when all are there, or when the engine does not answer). */
  absent: string[];
}

const distinct = (images: StackImages) => [...new Set(Object.values(images))].sort();

/** One `docker image inspect` for all of them (one process in the usual case), then one per image when any is missing. */
export const imagesFact = (images: StackImages): Fact<ImagesOnHub> => {
  const all = distinct(images);
  return defineFact(
    `docker-images:${all.join(",")}`,
    sh`command -v docker >/dev/null 2>&1 || { echo cli=absent; exit 0; }; echo cli=present; if docker image inspect --format . ${all} >/dev/null 2>&1; then exit 0; fi; for i in ${all}; do docker image inspect --format . "$i" >/dev/null 2>&1 || echo "absent=$i"; done`,
    ({ stdout }) => {
      const lines = stdout.split("\n");
      return {
        cli: lines.includes("cli=present"),
        absent: lines.filter((l) => l.startsWith("absent=")).map((l) => l.slice("absent=".length)),
      };
    },
  );
};

/** What to do about it, the same at plan time and in the step itself. */
const advice = (hostName: string, image = "IMAGE") =>
  `load it on ${hostName} (docker load -i FILE.tar, made with docker save ${image} on a machine that has it) or pull it there (docker pull ${image}), then run again; or set docker_services.<service>.image to an image the hub has`;

const refusal = (hostName: string, services: string[]) =>
  `${hostName}: ${services.length === 1 ? "the image of service" : "the images of services"} ${services.join(", ")} ${services.length === 1 ? "is" : "are"} not on the hub, so the stack was not started or changed (nothing running was stopped)`;

/** The refusal: host, each service and its image, that nothing was stopped, and what to do (in the message: the run's recap shows only that). */
export function missingImagesError(hostName: string, images: StackImages, absent: string[]): UserError {
  const services = Object.entries(images)
    .filter(([, image]) => absent.includes(image))
    .map(([service, image]) => `${service} (${image})`);
  const what = advice(hostName, absent[0]);
  return new UserError(`${refusal(hostName, services)}. To fix: ${what}`, what);
}

/**
 * The same check as a step, just before `up`, for a run that installed or started the engine itself (its images could
 * not be asked about before): it prints the same sentence and fails, so `up` never runs. In braces: the step joins
 * its commands with &&.
 */
export function imagesPresentCheck(hostName: string, images: StackImages): Command {
  const checks = Object.entries(images).map(
    ([service, image]) =>
      sh`docker image inspect --format . ${image} >/dev/null 2>&1 || { echo ${refusal(hostName, [`${service} (${image})`])} >&2; missing=1; }`,
  );
  return join(
    [
      raw("{ missing="),
      ...checks,
      sh`[ -z "$missing" ] || { echo ${`To fix: ${advice(hostName)}`} >&2; exit 1; }`,
      raw("}"),
    ],
    "; ",
  ).labelled(`check that the ${Object.keys(images).length} images of the stack are on ${hostName}`);
}
