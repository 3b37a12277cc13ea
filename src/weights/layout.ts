/**
 * Transposes a dense row-major array: output axis k is input axis `perm[k]`, as in
 * `tf.transpose(x, perm)` and `torch.permute`. Done in plain JS so that converting a checkpoint
 * creates no tensors and runs the same on every backend.
 *
 * @example
 * // OIHW → HWIO
 * permute(torchWeight, [out, inp, 3, 3], [2, 3, 1, 0]);
 */
export function permute(data: Float32Array, shape: readonly number[], perm: readonly number[]): Float32Array {
  const rank = shape.length;
  if (perm.length !== rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
    throw new Error(`permute: perm ${JSON.stringify(perm)} is not a permutation of ${rank} axes`);
  }
  const inStrides = new Array<number>(rank);
  for (let k = rank - 1, s = 1; k >= 0; k--) {
    inStrides[k] = s;
    s *= shape[k];
  }
  const outShape = perm.map((p) => shape[p]);
  // Walking the output in order, each output axis steps through the input by its source stride.
  const steps = perm.map((p) => inStrides[p]);
  const out = new Float32Array(data.length);
  const index = new Array<number>(rank).fill(0);
  let src = 0;
  for (let i = 0; i < out.length; i++) {
    out[i] = data[src];
    for (let k = rank - 1; k >= 0; k--) {
      index[k]++;
      src += steps[k];
      if (index[k] < outShape[k]) break;
      src -= steps[k] * outShape[k];
      index[k] = 0;
    }
  }
  return out;
}
