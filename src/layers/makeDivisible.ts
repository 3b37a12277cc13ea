/**
 * Rounds a channel count to the nearest multiple of `divisor`, never going below `minValue`
 * and never rounding down by more than 10%.
 *
 * This is torchvision's `_make_divisible`, which comes from the original TF-Slim MobileNet code.
 * Keras's `_make_divisible` has the same formula, but Keras MobileNetV2 first truncates
 * `c * alpha` to an integer, so it disagrees for some widths: α=0.56, c=16 gives 16 here
 * (9 rounds to 8, which is under 90% of 8.96, so 8 is added) and 8 in Keras. We follow
 * torchvision so that its state_dicts load.
 *
 * @param value - the raw (possibly fractional) channel count, e.g. `32 * alpha`.
 * @param divisor - default 8.
 * @param minValue - default `divisor`.
 * @example makeDivisible(32 * 0.35) // 16
 */
export function makeDivisible(value: number, divisor = 8, minValue: number = divisor): number {
  const rounded = Math.max(minValue, Math.floor((value + divisor / 2) / divisor) * divisor);
  // Make sure that rounding down does not go down by more than 10%.
  return rounded < 0.9 * value ? rounded + divisor : rounded;
}
