// Remote commands as values: every interpolated part is POSIX-single-quoted, secrets print as ***.

/** A value that must never be shown: it renders into the real command, and as *** everywhere else. */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return "***";
  }
  toJSON(): string {
    return "***";
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return "Secret(***)";
  }
}

export const secret = (value: string): Secret => new Secret(value);

type Part = { kind: "raw"; text: string } | { kind: "quoted"; text: string } | { kind: "secret"; value: Secret };

/** Quotes a string for BusyBox ash, dash and bash alike: '...' with ' written as '\''. */
export function quote(value: string): string {
  if (value !== "" && /^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export type Interpolation = string | number | Secret | Command | readonly (string | number | Secret)[];

/** A shell command as a list of parts; rendering quotes what needs quoting. */
export class Command {
  /** `label`: what people read for it under -v instead of the whole text (a file write: path, size, hash). */
  constructor(
    readonly parts: readonly Part[],
    readonly label?: string,
  ) {}

  /** The same command, read under -v as `label`. */
  labelled(label: string): Command {
    return new Command(this.parts, label);
  }

  /** What -v shows: the label when it has one, else the command as displayed. */
  describe(): string {
    return this.label ?? this.display();
  }

  /** The command that runs on the host. */
  render(): string {
    return this.parts
      .map((p) => (p.kind === "raw" ? p.text : p.kind === "quoted" ? quote(p.text) : quote(p.value.reveal())))
      .join("");
  }

  /** The command as people may see it: secrets as ***. */
  display(): string {
    return this.parts.map((p) => (p.kind === "raw" ? p.text : p.kind === "quoted" ? quote(p.text) : "***")).join("");
  }

  get hasSecret(): boolean {
    return this.parts.some((p) => p.kind === "secret");
  }

  toString(): string {
    return this.display();
  }
}

function partsOf(value: Interpolation): Part[] {
  if (value instanceof Command) return [...value.parts];
  if (value instanceof Secret) return [{ kind: "secret", value }];
  if (Array.isArray(value)) {
    const out: Part[] = [];
    value.forEach((v, i) => {
      if (i > 0) out.push({ kind: "raw", text: " " });
      out.push(...partsOf(v as Interpolation));
    });
    return out;
  }
  return [{ kind: "quoted", text: String(value) }];
}

/** sh`cat ${path}`: literal text stays as written, every ${value} is quoted (arrays: each element). */
export function sh(strings: TemplateStringsArray, ...values: Interpolation[]): Command {
  const parts: Part[] = [];
  strings.forEach((text, i) => {
    if (text) parts.push({ kind: "raw", text });
    if (i < values.length) parts.push(...partsOf(values[i]));
  });
  return new Command(parts);
}

/** Literal shell text, not quoted: only for constant strings written in this codebase. */
export const raw = (text: string): Command => new Command([{ kind: "raw", text }]);

/** Joins commands with a separator such as " && " or "\n". */
export function join(commands: readonly Command[], separator: string): Command {
  const parts: Part[] = [];
  commands.forEach((c, i) => {
    if (i > 0) parts.push({ kind: "raw", text: separator });
    parts.push(...c.parts);
  });
  return new Command(parts);
}
