import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { itWithTorch, PYTHON } from '../../test/fixtures/torch.js';
import { InputError } from '../errors.js';
import { seededRandom } from '../training/random.js';
import { tf } from '../tf.js';
import { quantizeUint8, roundHalfEven } from './uint8.js';

// tfjs-converter's uint8 formula (tensorflowjs/quantization.py, quantize_weights and
// _get_affine_quantization_range), restated in numpy in float64: the independent reference.
const CONVERTER_FORMULA = `
import json, sys, numpy as np
out = []
for values in json.load(sys.stdin):
    data = np.array(values, dtype=np.float32).astype(np.float64)
    lo, hi = data.min(), data.max()
    if lo == hi:
        out.append({"q": [0] * data.size, "scale": 1.0, "min": float(lo)})
        continue
    scale = (hi - lo) / 255
    if lo <= 0 <= hi:
        zero = np.round(-lo / scale)
        lo = -zero * scale
        hi = 255 * scale + lo
    q = np.round((np.clip(data, lo, hi) - lo) / scale).astype(np.uint8)
    out.append({"q": q.tolist(), "scale": float(scale), "min": float(lo)})
print(json.dumps(out))
`;

function cases(): Float32Array[] {
  const random = seededRandom(3);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const make = (n: number, f: (i: number) => number) => Float32Array.from({ length: n }, (_, i) => f(i));
  return [
    make(500, () => 0.05 * normal()),                 // a conv kernel: covers 0, nudged
    make(200, () => 0.2 + random() * 3),              // BN variances: all positive, no nudge
    make(100, () => -5 - random()),                   // all negative
    make(64, () => 0.75),                             // constant: exact
    make(9, (i) => [0, 1, 2, 3, 255, 127.5, 0.5, 1.5, 2.5][i]), // exact ties on the grid
    make(300, (i) => (i % 3 === 0 ? 0 : 10 * normal())),
    make(1, () => -3),
  ];
}

describe('quantizeUint8', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  itWithTorch("matches tfjs-converter's formula (restated in numpy): levels, scale and min", async () => {
    const inputs = cases();
    const run = spawnSync(PYTHON, ['-c', CONVERTER_FORMULA], { input: JSON.stringify(inputs.map((a) => Array.from(a))), encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const expected = JSON.parse(run.stdout) as { q: number[]; scale: number; min: number }[];
    inputs.forEach((values, i) => {
      const got = quantizeUint8(values, `case${i}`);
      expect(Array.from(got.data), `case ${i}`).toEqual(expected[i].q);
      expect(got.scale).toBeCloseTo(expected[i].scale, 14);
      expect(got.min).toBeCloseTo(expected[i].min, 14);
    });
  });

  it('decodes through TF.js within one step, keeps 0 exact when the range covers it, and a constant exact', () => {
    for (const values of cases()) {
      const { data, scale, min } = quantizeUint8(values, 'w');
      const spec: tf.io.WeightsManifestEntry = { name: 'w', shape: [values.length], dtype: 'float32', quantization: { dtype: 'uint8', scale, min } };
      const tensor = tf.io.decodeWeights(data.slice().buffer, [spec]).w;
      const decoded = tensor.dataSync();
      tensor.dispose();
      const lo = Math.min(...values);
      const hi = Math.max(...values);
      values.forEach((v, i) => {
        if (lo === hi) expect(decoded[i]).toBe(v);
        // Half a step from rounding, plus less than half a step from nudging the range onto 0.
        else expect(Math.abs(decoded[i] - v)).toBeLessThanOrEqual(scale * 1.0001);
        if (v === 0) expect(decoded[i]).toBe(0);
      });
      if (lo < 0 && hi > 0) expect(Math.abs(min / scale - Math.round(min / scale))).toBeLessThan(1e-9);
    }
  });

  it('refuses NaN and Infinity naming the weight; an empty tensor is fine', () => {
    expect(() => quantizeUint8(new Float32Array([1, NaN]), 'block_1_project/kernel')).toThrow(InputError);
    expect(() => quantizeUint8(new Float32Array([Infinity]), 'k')).toThrow(/weight 'k' holds Infinity at index 0/);
    expect(quantizeUint8(new Float32Array(0), 'k')).toEqual({ data: new Uint8Array(0), scale: 1, min: 0 });
  });

  it('roundHalfEven rounds ties to even, like numpy', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, 2.6, 3].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, -2, 2, 3, 3]);
  });
});
