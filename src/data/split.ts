import { InputError, received } from '../errors.js';
import { seededRandom } from '../training/random.js';

export interface Split {
  /** Indices into the dataset, ascending. */
  train: Int32Array;
  val: Int32Array;
}

/**
 * A stratified, seeded train/validation split: every class contributes round(n · fraction) of
 * its examples to validation, so rare classes are neither missing from validation nor
 * over-represented. Each class keeps at least one training example, and, when the fraction is
 * > 0 and the class has ≥ 2 examples, at least one validation example.
 *
 * @param labels class index of every example
 * @param valFraction in [0, 1). Default 0.1.
 * @param seed default 0
 * @example
 * const { train, val } = stratifiedSplit(folder.labels(), 0.1, 42);
 */
export function stratifiedSplit(labels: Int32Array, valFraction = 0.1, seed = 0): Split {
  if (!Number.isFinite(valFraction) || valFraction < 0 || valFraction >= 1) {
    throw new InputError(`valFraction must be a number in [0, 1); received \`valFraction=${received(valFraction)}\``);
  }
  const byClass = new Map<number, number[]>();
  labels.forEach((label, i) => {
    const list = byClass.get(label);
    if (list) list.push(i);
    else byClass.set(label, [i]);
  });
  const random = seededRandom(seed);
  const train: number[] = [];
  const val: number[] = [];
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    const members = byClass.get(label)!;
    for (let i = members.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [members[i], members[j]] = [members[j], members[i]];
    }
    let nVal = Math.round(members.length * valFraction);
    if (valFraction > 0 && members.length >= 2) nVal = Math.max(nVal, 1);
    nVal = Math.min(nVal, members.length - 1);
    val.push(...members.slice(0, nVal));
    train.push(...members.slice(nVal));
  }
  const ascending = (a: number[]) => Int32Array.from(a).sort();
  return { train: ascending(train), val: ascending(val) };
}
