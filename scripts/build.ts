// Builds the commands once (scripts/setup.sh runs it; `npm run build` again after editing): tsx compiles every module
// on every run, seconds before a command can even print --help. Each command in tasks/ becomes
//   dist/<name>.mjs      a launcher: node:util only. It answers --help and refuses a bad flag by itself (from the
//                        command's own definition, recorded here), rebuilds first when a source file changed since this
//                        build (never runs stale code), and otherwise loads
//   dist/<name>.run.mjs  the command bundled with its modules and dependencies (ssh2 and listr2 stay in node_modules:
//                        a native binding, and a renderer loaded only on a terminal).
// Templates and the inventory's schema are read from the tree at run time, as under tsx.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";
import { build, type Plugin } from "esbuild";

const ROOT = resolve(import.meta.dirname, "..");
const DIST = join(ROOT, "dist");
/** Built beside dist/ and swapped in whole: a command starting meanwhile finds the old build or the new one. */
const OUT = join(ROOT, `dist.new-${process.pid}`);
/** Kept out of the bundle: ssh2 loads a native binding; listr2 is loaded only where it draws (progress.ts). */
const EXTERNAL = ["ssh2", "listr2", "cpu-features"];
/** Set, a bundled command prints its flags and help as JSON instead of running (lib/cli.ts describeForBuild). */
const DESCRIBE_ENV = "MESHISP_DESCRIBE";

/**
 * A module that finds files beside itself (templates/, inventory/schema.json) asks import.meta.url: inside a bundle
 * that is the bundle's URL, so each module's own is put back, relative to dist/ (the tree can move).
 */
const moduleUrls: Plugin = {
  name: "module-urls",
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      let contents = readFileSync(args.path, "utf8");
      if (contents.includes("import.meta.url"))
        contents = contents.replaceAll(
          "import.meta.url",
          `new URL(${JSON.stringify(relative(OUT, args.path))}, import.meta.url).href`,
        );
      return { contents, loader: "ts" };
    });
  },
};

/** The command's definition, as lib/cli.ts records it for the launcher: its flags and its --help text. */
interface Description {
  command: string;
  options: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }>;
  help: string;
}

function launcher(name: string, inputs: Record<string, number>, description: Description | undefined): string {
  return `// Built by scripts/build.ts from tasks/${name}.ts: do not edit (npm run build).
import { statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
const here = fileURLToPath(new URL(".", import.meta.url));
const inputs = ${JSON.stringify(inputs)};
const stale = Object.entries(inputs).find(([file, mtime]) => {
  try { return statSync(here + file).mtimeMs !== mtime; } catch { return true; }
});
if (stale) {
  // A source changed since the build: build again (a second or two) rather than run old code.
  process.stderr.write(\`(\${stale[0].replace(/^\\.\\.\\//, "")} changed since the last build: building the commands again)\\n\`);
  const { spawnSync } = await import("node:child_process");
  const built = spawnSync(process.execPath, ["--import", "tsx", here + "../scripts/build.ts"], { stdio: ["ignore", "ignore", "pipe"], cwd: here + "..", encoding: "utf8" });
  if (built.status !== 0) {
    process.stderr.write(built.stderr);
    process.exit(built.status ?? 1);
  }
  await import(\`./${name}.run.mjs?\${Date.now()}\`);
} else {
  const d = ${JSON.stringify(description ?? null)};
  if (d) {
    let values;
    try {
      ({ values } = parseArgs({ args: process.argv.slice(2), options: d.options, allowPositionals: false, strict: true }));
    } catch (err) {
      console.error(\`error: \${err.message}\\nhint: run \${d.command} --help\`);
      process.exit(1);
    }
    if (values.help) {
      console.log(d.help);
      process.exit(0);
    }
  }
  await import("./${name}.run.mjs");
}
`;
}

async function main(): Promise<void> {
  const started = performance.now();
  const tasks = readdirSync(join(ROOT, "tasks"))
    .filter((f) => f.endsWith(".ts") && f !== "plays.ts")
    .map((f) => join(ROOT, "tasks", f));
  mkdirSync(OUT, { recursive: true });
  const result = await build({
    entryPoints: Object.fromEntries(tasks.map((t) => [`${basename(t, ".ts")}.run`, t])),
    outdir: OUT,
    bundle: true,
    splitting: true,
    platform: "node",
    format: "esm",
    target: "node20",
    external: EXTERNAL,
    outExtension: { ".js": ".mjs" },
    // CommonJS dependencies inside an ES module bundle still call require().
    banner: {
      js: 'import { createRequire as __meshispRequire } from "node:module"; const require = __meshispRequire(import.meta.url);',
    },
    plugins: [moduleUrls],
    metafile: true,
    logLevel: "warning",
  });
  for (const task of tasks) {
    const name = basename(task, ".ts");
    const output = Object.entries(result.metafile.outputs).find(
      ([, o]) => o.entryPoint && resolve(ROOT, o.entryPoint) === task,
    );
    if (!output) throw new Error(`esbuild made no output for ${task}`);
    // Every source file of the tree the bundle holds (node_modules' are npm ci's to change), by mtime.
    const inputs: Record<string, number> = {};
    const collect = (file: string) => {
      for (const input of Object.keys(result.metafile.outputs[file].inputs))
        if (!input.includes("node_modules/"))
          inputs[relative(OUT, resolve(ROOT, input))] = statSync(resolve(ROOT, input)).mtimeMs;
      for (const i of result.metafile.outputs[file].imports)
        if (!i.external && result.metafile.outputs[i.path]) collect(i.path);
    };
    collect(output[0]);
    inputs[relative(OUT, join(ROOT, "scripts/build.ts"))] = statSync(join(ROOT, "scripts/build.ts")).mtimeMs;
    const described = spawnSync(process.execPath, [join(OUT, `${name}.run.mjs`)], {
      env: { ...process.env, [DESCRIBE_ENV]: "1" },
      encoding: "utf8",
    });
    const description =
      described.status === 0 && described.stdout.startsWith("{")
        ? (JSON.parse(described.stdout) as Description)
        : undefined;
    writeFileSync(join(OUT, `${name}.mjs`), launcher(name, inputs, description));
    process.stderr.write(
      `built dist/${name}.mjs${description ? "" : " (its flags are checked by the command itself)"}\n`,
    );
  }
  const old = join(ROOT, `dist.old-${process.pid}`);
  try {
    renameSync(DIST, old);
  } catch {
    // No build yet.
  }
  renameSync(OUT, DIST);
  rmSync(old, { recursive: true, force: true });
  process.stderr.write(`built ${tasks.length} commands in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}

await main();
