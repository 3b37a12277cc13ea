import type { BackendName } from '../backend/useBackend.js';
import { parseArgs } from 'node:util';
import { InputError } from '../errors.js';
import { suggest } from '../options/check.js';

/** A flag of a subcommand: its type and the line `--help` shows for it. */
export interface FlagSpec {
  type: 'string' | 'boolean';
  /** e.g. 'N' for `--epochs N`; booleans have none. */
  value?: string;
  help: string;
  short?: string;
  /** May be given several times (values collect into an array). */
  multiple?: boolean;
}

export type FlagSpecs = Record<string, FlagSpec>;
/** Backends every command accepts with --backend. */
export const BACKENDS: readonly BackendName[] = ['auto', 'cuda', 'tensorflow', 'wasm', 'cpu'];

/** Flags every command takes; `--help` itself is answered by runCommand before the command runs. */
export const COMMON_FLAGS: FlagSpecs = {
  backend: { type: 'string', value: BACKENDS.join('|'), help: 'TF.js backend (default auto)' },
  json: { type: 'boolean', help: 'print a JSON summary as the last stdout line' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

/** --model, for the commands that read a saved model. */
export const MODEL_FLAG: FlagSpecs = {
  model: { type: 'string', value: 'DIR', help: 'a saved model: a directory with model.json, or a model .json file such as a browser download (required)' },
};

export type FlagValues = Record<string, string | boolean | string[] | undefined>;

/**
 * Parses `argv` strictly against `specs`: unknown flags, missing values and stray arguments are
 * one-line {@link InputError}s that point at `--help`.
 */
export function parseFlags(command: string, argv: string[], specs: FlagSpecs, allowPositionals = false): { flags: FlagValues; positionals: string[] } {
  const options = Object.fromEntries(Object.entries(specs).map(([name, s]) => [
    name, { type: s.type, ...(s.short && { short: s.short }), ...(s.multiple && { multiple: true }) },
  ]));
  const more = `run 'mobilenetv2 ${command} --help' for the options`;
  try {
    const { values, positionals } = parseArgs({ args: argv, options, strict: true, allowPositionals });
    return { flags: values as FlagValues, positionals };
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    const flag = /'(-[^']*)'/.exec(message)?.[1];
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const close = flag?.startsWith('--') ? suggest(flag.slice(2).split('=')[0]!, Object.keys(specs)) : undefined;
      throw new InputError(`unknown option ${flag ?? message}; ${close ? `did you mean --${close}? ` : ''}${more}`);
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const name = /--([\w-]+)/.exec(message)?.[1];
      const spec = name ? specs[name] : undefined;
      throw new InputError(spec?.type === 'boolean' ? `option --${name} takes no value; ${more}` : `option --${name ?? '?'} needs a value${spec?.value ? ` ${spec.value}` : ''}; ${more}`);
    }
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      throw new InputError(`unexpected argument ${/'([^']*)'/.exec(message)?.[1] ?? ''}; ${more}`);
    }
    throw new InputError(`${message.split('\n')[0]}; ${more}`);
  }
}

function str(flags: FlagValues, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}

/** `--name` as an integer ≥ min, or undefined when absent. */
export function intFlag(flags: FlagValues, name: string, min: number): number | undefined {
  const v = str(flags, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\s*[+-]?\d+\s*$/.test(v) || !Number.isSafeInteger(n) || n < min) {
    throw new InputError(`--${name} must be an integer >= ${min}; received ${JSON.stringify(v)}`);
  }
  return n;
}

/** `--name` as a finite number in (min, max) (bounds exclusive unless `inclusiveMin`), or undefined when absent. */
export function numberFlag(flags: FlagValues, name: string, range: { min: number; max?: number; inclusiveMin?: boolean }): number | undefined {
  const v = str(flags, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  const max = range.max ?? Infinity;
  const aboveMin = range.inclusiveMin ? n >= range.min : n > range.min;
  if (v.trim() === '' || !Number.isFinite(n) || !aboveMin || n >= max) {
    const bound = `${range.inclusiveMin ? '>=' : '>'} ${range.min}${Number.isFinite(max) ? ` and < ${max}` : ''}`;
    throw new InputError(`--${name} must be a number ${bound}; received ${JSON.stringify(v)}`);
  }
  return n;
}

/** `--name` as one of `allowed`, or undefined when absent. */
export function choiceFlag<T extends string>(flags: FlagValues, name: string, allowed: readonly T[]): T | undefined {
  const v = str(flags, name);
  if (v === undefined) return undefined;
  if (!allowed.includes(v as T)) throw new InputError(`--${name} must be one of ${allowed.join(', ')}; received ${JSON.stringify(v)}`);
  return v as T;
}

/** `--workers` as 'auto' or an integer >= 1, or undefined when absent. */
export function workersFlag(flags: FlagValues): number | 'auto' | undefined {
  const v = str(flags, 'workers');
  if (v === 'auto') return 'auto';
  if (v !== undefined && !/^\s*\d+\s*$/.test(v)) throw new InputError(`--workers must be 'auto' or an integer >= 1; received ${JSON.stringify(v)}`);
  return intFlag(flags, 'workers', 1);
}

/** The `--workers` flag of the training commands. */
export const WORKERS_FLAG = {
  workers: {
    type: 'string', value: 'N|auto',
    help: "data-parallel training threads, each with its own replica (default 1; auto: one per core)",
  },
} as const;

/** --max-corrupt-fraction, for the commands that read an image folder (finetune, evaluate --data). */
export const MAX_CORRUPT_FLAG: FlagSpecs = {
  'max-corrupt-fraction': { type: 'string', value: 'F', help: 'largest share of an image folder\'s images that may fail to decode (each is named once and skipped); above it the folder is refused (default 0.05)' },
};

/** The value of --max-corrupt-fraction: a share in [0, 1). */
export const maxCorruptFractionFlag = (flags: FlagValues): number | undefined =>
  numberFlag(flags, 'max-corrupt-fraction', { min: 0, max: 1, inclusiveMin: true });

/**
 * A boolean flag with its `--no-` form, both declared as flags since Node 20's parseArgs has no
 * negation: `--name` and `--no-name` in `--help`, as git and most CLIs spell them.
 */
export function negatableFlag(name: string, help: string, noHelp: string): FlagSpecs {
  return { [name]: { type: 'boolean', help }, [`no-${name}`]: { type: 'boolean', help: noHelp } };
}

/** A {@link negatableFlag}: true, false, or undefined when neither form is given; both at once is an InputError. */
export function negatableValue(flags: FlagValues, name: string): boolean | undefined {
  const [yes, no] = [flags[name] === true, flags[`no-${name}`] === true];
  if (yes && no) throw new InputError(`--${name} and --no-${name} contradict each other; give one`);
  return yes ? true : no ? false : undefined;
}

/** `--name` as a non-empty string, or undefined when absent. */
export function stringFlag(flags: FlagValues, name: string): string | undefined {
  const v = str(flags, name);
  if (v !== undefined && v.trim() === '') throw new InputError(`--${name} must not be empty`);
  return v;
}

/** The flags block of a command's `--help`. */
export function formatFlags(specs: FlagSpecs): string {
  const rows = Object.entries(specs).map(([name, s]) => [`  ${s.short ? `-${s.short}, ` : ''}--${name}${s.value ? ` ${s.value}` : ''}`, s.help]);
  const width = Math.max(...rows.map((r) => r[0].length)) + 2;
  return rows.map(([left, right]) => left.padEnd(width) + right).join('\n');
}
