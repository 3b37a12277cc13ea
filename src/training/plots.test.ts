import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MetricsRecord } from './metricsLog.js';
import { SERIES_COLOURS, writePlots } from './plots.js';

function records(firstEpoch: number, lastEpoch: number): MetricsRecord[] {
  const out: MetricsRecord[] = [];
  for (let epoch = firstEpoch; epoch <= lastEpoch; epoch++) {
    for (let step = 5; step <= 20; step += 5) {
      out.push({ type: 'step', epoch, step, stepsPerEpoch: 20, loss: 2 / (epoch + step / 20) } as MetricsRecord);
    }
    out.push({ type: 'epoch', epoch, trainLoss: 1 / epoch, trainAccuracy: 0.5 + 0.1 * epoch, valLoss: 1.2 / epoch, valAccuracy: 0.55 + 0.1 * epoch } as MetricsRecord);
  }
  return out;
}

/** Each line's series name (from its aria-label) and stroke colour, in a vega SVG. */
const lineColours = (svg: string) =>
  Object.fromEntries([...svg.matchAll(/aria-label="[^"]*series: ([^"]+)" role="graphics-symbol" aria-roledescription="line mark"[^>]*stroke="([^"]+)"/g)].map((m) => [m[1], m[2]]));
/** The x axis's range as vega states it for screen readers: [from, to]. */
const xRange = (svg: string) => {
  const match = /aria-label="X-axis titled 'epoch' for a linear scale with values from ([\d.]+) to ([\d.]+)"/.exec(svg);
  return match ? [Number(match[1]), Number(match[2])] : null;
};

describe('writePlots', () => {
  it('draws training blue and the evaluation data orange in both charts, whatever it is called', async () => {
    for (const label of ['test', 'validation', 'val']) {
      const dir = await mkdtemp(path.join(tmpdir(), 'plots-'));
      await writePlots(dir, records(1, 3), { validationLabel: label, png: false });
      for (const chart of ['loss', 'accuracy']) {
        const svg = await readFile(path.join(dir, `${chart}.svg`), 'utf8');
        expect(lineColours(svg), `${chart} with '${label}'`).toEqual({ training: SERIES_COLOURS.training, [label]: SERIES_COLOURS.evaluation });
      }
    }
  });

  it('starts the x axis at the first epoch, and puts the legend below the plot', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'plots-'));
    await writePlots(dir, records(1, 3), { png: false });
    const accuracy = await readFile(path.join(dir, 'accuracy.svg'), 'utf8');
    expect(xRange(accuracy)).toEqual([1, 3]);
    // Losses logged during epoch 1 lie between 0 (start of training) and 1.
    expect(xRange(await readFile(path.join(dir, 'loss.svg'), 'utf8'))).toEqual([0, 3]);
    const legendY = Number(/role-legend"[^>]*><g transform="translate\([\d.]+,([\d.]+)\)"/.exec(accuracy)?.[1]);
    expect(legendY).toBeGreaterThan(320); // the plot's height
    // After a resume at epoch 4, the axis starts there.
    const resumed = await mkdtemp(path.join(tmpdir(), 'plots-'));
    await writePlots(resumed, records(4, 6), { png: false });
    expect(xRange(await readFile(path.join(resumed, 'accuracy.svg'), 'utf8'))).toEqual([4, 6]);
    expect(xRange(await readFile(path.join(resumed, 'loss.svg'), 'utf8'))).toEqual([3, 6]);
  });
});
