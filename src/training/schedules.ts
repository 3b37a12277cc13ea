import { InputError, received } from '../errors.js';
import { checkInt, checkNumber, checkOptions } from '../options/check.js';

/**
 * A learning-rate schedule: the rate for optimizer step `step` (0-based) of `totalSteps`.
 * The trainer calls it before every step.
 */
export type LrSchedule = (step: number, totalSteps: number) => number;

function checkRate(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new InputError(`${name} must be a finite number > 0; received \`${name}=${received(value)}\``);
  return value;
}

/**
 * The same rate at every step.
 *
 * @example
 * train(model, data, { learningRate: constantLr(1e-3) }); // same as learningRate: 1e-3
 */
export function constantLr(learningRate: number): LrSchedule {
  checkRate('learningRate', learningRate);
  return () => learningRate;
}

/** Options of {@link oneCycleLr}; names and defaults follow PyTorch's `OneCycleLR` (cosine annealing). */
export interface OneCycleOptions {
  /** Peak rate. */
  maxLr: number;
  /** Fraction of the steps spent warming up. Default 0.3. */
  pctStart?: number;
  /** Initial rate = maxLr / divFactor. Default 25. */
  divFactor?: number;
  /** Final rate = initial rate / finalDivFactor. Default 1e4. */
  finalDivFactor?: number;
}

/**
 * Smith's one-cycle policy as PyTorch implements it (`three_phase=False`, cosine annealing):
 * a cosine rise from maxLr/divFactor to maxLr over the first pctStart of the steps, then a
 * cosine fall to maxLr/(divFactor·finalDivFactor) at the last step.
 *
 * @example
 * const schedule = oneCycleLr({ maxLr: 3e-3 });
 * schedule(0, 1000); // 1.2e-4
 */
export function oneCycleLr(options: OneCycleOptions): LrSchedule {
  checkOptions(options, ['maxLr', 'pctStart', 'divFactor', 'finalDivFactor'], 'oneCycleLr');
  const maxLr = checkRate('maxLr', options.maxLr);
  const pctStart = options.pctStart ?? 0.3;
  if (!(pctStart > 0 && pctStart < 1)) throw new InputError(`pctStart must be in (0, 1); received \`pctStart=${received(pctStart)}\``);
  const initial = maxLr / checkRate('divFactor', options.divFactor ?? 25);
  const final = initial / checkRate('finalDivFactor', options.finalDivFactor ?? 1e4);
  const cosine = (from: number, to: number, t: number) => to + ((from - to) / 2) * (1 + Math.cos(Math.PI * t));
  return (step, totalSteps) => {
    // PyTorch's phase boundaries: warm-up ends at step pctStart·total − 1, annealing at total − 1.
    const warmEnd = pctStart * totalSteps - 1;
    const end = totalSteps - 1;
    if (step <= warmEnd) return cosine(initial, maxLr, warmEnd > 0 ? step / warmEnd : 1);
    return cosine(maxLr, final, Math.min(1, (step - warmEnd) / (end - warmEnd)));
  };
}

/** Options of {@link cosineLr}. */
export interface CosineOptions {
  /** Rate after warm-up. */
  peakLr: number;
  /** Linear warm-up steps from 0. Default 0. */
  warmupSteps?: number;
  /** Rate at the last step. Default 0. */
  finalLr?: number;
}

/**
 * Linear warm-up, then cosine decay to `finalLr` at the last step (SGDR without restarts).
 *
 * @example
 * const schedule = cosineLr({ peakLr: 1e-3, warmupSteps: 100 });
 */
export function cosineLr(options: CosineOptions): LrSchedule {
  checkOptions(options, ['peakLr', 'warmupSteps', 'finalLr'], 'cosineLr');
  const peak = checkRate('peakLr', options.peakLr);
  const warmup = checkInt('warmupSteps', options.warmupSteps ?? 0, { min: 0 });
  const final = checkNumber('finalLr', options.finalLr ?? 0, { min: 0, max: peak });
  return (step, totalSteps) => {
    if (step < warmup) return (peak * (step + 1)) / warmup;
    const span = Math.max(1, totalSteps - 1 - warmup);
    const t = Math.min(1, (step - warmup) / span);
    return final + ((peak - final) / 2) * (1 + Math.cos(Math.PI * t));
  };
}
