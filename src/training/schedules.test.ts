import { describe, expect, it } from 'vitest';
import { constantLr, cosineLr, oneCycleLr } from './schedules.js';

// PyTorch 1.13: OneCycleLR(opt, max_lr=3e-3, total_steps=20, pct_start=0.25), lr before each step.
const TORCH_ONE_CYCLE = [
  0.00011999999999999988, 0.0005417662350913717, 0.00156, 0.0025782337649086283, 0.003, 0.0029672215322151044,
  0.002870318705191155, 0.002713526637460455, 0.0025036978947546493, 0.002250003, 0.001963529637460455,
  0.0016567980677307005, 0.0013432139322692995, 0.001036482362539545, 0.0007500090000000003, 0.0004963141052453513,
  0.00028648536253954527, 0.0001296932948088444, 3.2790467784895864e-05, 1.2e-08,
];

describe('schedules', () => {
  it("oneCycleLr matches PyTorch's OneCycleLR step by step", () => {
    const schedule = oneCycleLr({ maxLr: 3e-3, pctStart: 0.25 });
    TORCH_ONE_CYCLE.forEach((lr, step) => expect(schedule(step, 20)).toBeCloseTo(lr, 10));
  });

  it('cosineLr warms up linearly and ends at finalLr', () => {
    const schedule = cosineLr({ peakLr: 1, warmupSteps: 4, finalLr: 0.1 });
    expect([0, 1, 2, 3].map((s) => schedule(s, 13))).toEqual([0.25, 0.5, 0.75, 1]);
    expect(schedule(4, 13)).toBeCloseTo(1, 12);
    expect(schedule(8, 13)).toBeCloseTo(0.55, 12);
    expect(schedule(12, 13)).toBeCloseTo(0.1, 12);
  });

  it('rejects bad rates with one line', () => {
    expect(() => constantLr(0)).toThrow('learningRate must be a finite number > 0; received `learningRate=0`');
    expect(() => oneCycleLr({ maxLr: 1, pctStart: 1 })).toThrow('pctStart must be in (0, 1)');
  });
});
