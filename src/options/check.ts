import { InputError, received } from '../errors.js';

// The one set of option checks of every public function. Each returns the value, typed, or
// throws an InputError in one form: "<name> must be <what>; received `<name>=<value>`".

function fail(name: string, what: string, value: unknown): never {
  throw new InputError(`${name} must be ${what}; received \`${name}=${received(value)}\``);
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Bounds of {@link checkInt} and {@link checkNumber}; `above`/`below` are exclusive, `min`/`max` inclusive. */
export interface Range {
  min?: number;
  max?: number;
  above?: number;
  below?: number;
}

function bounds(range: Range): string {
  const parts = [
    ...(range.min !== undefined ? [`>= ${range.min}`] : []),
    ...(range.above !== undefined ? [`> ${range.above}`] : []),
    ...(range.max !== undefined ? [`<= ${range.max}`] : []),
    ...(range.below !== undefined ? [`< ${range.below}`] : []),
  ];
  return parts.join(' and ');
}

const inRange = (v: number, r: Range) =>
  (r.min === undefined || v >= r.min) && (r.max === undefined || v <= r.max) && (r.above === undefined || v > r.above) && (r.below === undefined || v < r.below);

/**
 * `value` as an integer within `range`.
 *
 * @example
 * checkInt('epochs', options.epochs ?? 3, { min: 1 }); // "epochs must be an integer >= 1; received `epochs=0`"
 */
export function checkInt(name: string, value: unknown, range: Range = {}): number {
  if (!(typeof value === 'number' && Number.isSafeInteger(value) && inRange(value, range))) {
    const b = bounds(range);
    fail(name, `an integer${b ? ` ${b}` : ''}`, value);
  }
  return value;
}

/** `value` as an integer >= 1. */
export const checkPositiveInt = (name: string, value: unknown): number => checkInt(name, value, { min: 1 });

/**
 * `value` as a finite number within `range`.
 *
 * @example
 * checkNumber('learningRate', lr, { above: 0 }); // "learningRate must be a finite number > 0; received `learningRate=-1`"
 */
export function checkNumber(name: string, value: unknown, range: Range = {}): number {
  if (!(isNumber(value) && inRange(value, range))) {
    const b = bounds(range);
    fail(name, `a finite number${b ? ` ${b}` : ''}`, value);
  }
  return value;
}

/** `value` as a number in [0, 1): a dropout rate, a smoothing, a split fraction. */
export function checkRate(name: string, value: unknown): number {
  if (!(isNumber(value) && value >= 0 && value < 1)) fail(name, 'a number in [0, 1)', value);
  return value;
}

/** `value` as one of `allowed`. */
export function checkOneOf<T extends string | number | boolean>(name: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) {
    const names = allowed.map((a) => (typeof a === 'string' ? `'${a}'` : String(a)));
    fail(name, names.length === 2 ? `${names[0]} or ${names[1]}` : `one of ${names.join(', ')}`, value);
  }
  return value as T;
}

/** `value` as a boolean. */
export function checkBoolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') fail(name, 'true or false', value);
  return value;
}

/** `value` as a non-empty string. */
export function checkString(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') fail(name, 'a non-empty string', value);
  return value;
}

/**
 * An image size: an integer, or [height, width] of integers, each >= `min`.
 *
 * @example
 * checkSize('inputSize', 160, 32); // [160, 160]
 */
export function checkSize(name: string, value: unknown, min = 1): [number, number] {
  const size = typeof value === 'number' ? [value, value] : value;
  if (!(Array.isArray(size) && size.length === 2 && size.every((d) => Number.isSafeInteger(d) && d >= min))) {
    fail(name, `an integer >= ${min} or [height, width] of them`, value);
  }
  return [size[0], size[1]];
}

/**
 * Per-channel values (a normalization's mean or std): 1 value, used for every channel, or one per
 * channel; returned as one per channel. With `positive`, each must be > 0.
 *
 * @example
 * checkPerChannel('std', [0.5], 3, { positive: true }); // [0.5, 0.5, 0.5]
 */
export function checkPerChannel(name: string, value: unknown, channels: number, { positive = false } = {}): number[] {
  const ok = Array.isArray(value) && (value.length === 1 || value.length === channels) && value.every((v) => isNumber(v) && (!positive || v > 0));
  if (!ok) fail(name, `1 or ${channels} finite numbers (one per channel)${positive ? ', each > 0' : ''}`, value);
  return value.length === channels ? [...value] : new Array<number>(channels).fill(value[0]);
}

/** Edit distance with adjacent transpositions (optimal string alignment), for "did you mean". */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The allowed name closest to `name`, or undefined: another case, a typo of up to a third of
 * its letters (a swap of two neighbours counts once), or the start of exactly one name.
 *
 * @example
 * suggest('batchsize', ['batchSize', 'epochs']); // 'batchSize'
 * suggest('warmup', ['peakLr', 'warmupSteps']);  // 'warmupSteps'
 */
export function suggest(name: string, allowed: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  const scored = allowed.map((a) => ({ a, d: distance(lower, a.toLowerCase()) })).sort((x, y) => x.d - y.d);
  const best = scored[0];
  if (best && best.d <= Math.max(1, Math.floor(best.a.length / 3))) return best.a;
  const starts = allowed.filter((a) => a.toLowerCase().startsWith(lower));
  return lower.length >= 3 && starts.length === 1 ? starts[0] : undefined;
}

/**
 * Checks that `options` is an object (or undefined) whose keys are all in `allowed`, so that a
 * misspelled option is not silently ignored: "unknown train option 'batchsize'; did you mean
 * 'batchSize'?". `hints` adds a sentence for a known confusion (Keras's `weights`).
 *
 * @example
 * const allowed = ['epochs', 'batchSize'] as const;
 * checkOptions(options, allowed, 'train');
 */
export function checkOptions<T extends object>(
  options: T | undefined, allowed: readonly string[], what: string, hints: Record<string, string> = {},
): T {
  if (options === undefined) return {} as T;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new InputError(`${what} options must be an object; received ${received(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (allowed.includes(key)) continue;
    const close = suggest(key, allowed);
    const hint = hints[key] ?? (close ? `did you mean '${close}'?` : `allowed: ${allowed.join(', ')}`);
    throw new InputError(`unknown ${what} option '${key}'; ${hint}`);
  }
  return options;
}

/**
 * The keys of an options interface as a checked list: `keysOf<Options>()({ a: true, b: true })`
 * fails to compile when a key is missing or extra, so the list cannot drift from the type.
 */
export const keysOf = <T extends object>() => <K extends Record<keyof Required<T>, true>>(keys: K & Record<Exclude<keyof K, keyof T>, never>): (keyof T & string)[] =>
  Object.keys(keys) as (keyof T & string)[];
