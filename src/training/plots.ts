import path from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import type { MetricsRecord } from './metricsLog.js';

/** Options of {@link writePlots}. */
export interface PlotOptions {
  /** What the validation data is called in legends and titles. Default 'validation'. */
  validationLabel?: string;
  /** Also write PNGs next to the SVGs. Default true. */
  png?: boolean;
}

type Point = { epoch: number; value: number; series: string };

/**
 * One colour per series in every chart: training blue, the evaluation data (validation or
 * test) orange. Without a fixed domain vega-lite colours series by name order, which made
 * 'test' blue beside 'training' and 'validation' orange beside it.
 */
export const SERIES_COLOURS = { training: '#4c78a8', evaluation: '#f58518' } as const;

/**
 * The x domain: from `first` (the first epoch, or the start of training for per-step points)
 * to the last epoch, padded when there is a single point so that it is not drawn on an edge.
 */
function epochDomain(points: readonly Point[], first: number): [number, number] {
  const last = Math.max(first, ...points.map((p) => p.epoch));
  return last > first ? [first, last] : [first - 0.5, last + 0.5];
}

/** The vega-lite spec of one chart of {@link writePlots}: `points` over epochs, one line per series. */
export function lineChart(title: string, yTitle: string, points: Point[], options: { yZero: boolean; xFrom: number; label: string }): object {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 560,
    height: 320,
    background: 'white',
    data: { values: points },
    mark: { type: 'line', point: { size: 30 }, tooltip: true },
    encoding: {
      x: {
        field: 'epoch', type: 'quantitative', title: 'epoch',
        scale: { domain: epochDomain(points, options.xFrom), nice: false, zero: false },
        axis: { tickMinStep: 1 },
      },
      y: { field: 'value', type: 'quantitative', title: yTitle, scale: { zero: options.yZero } },
      color: {
        field: 'series', type: 'nominal', title: null,
        scale: { domain: ['training', options.label], range: [SERIES_COLOURS.training, SERIES_COLOURS.evaluation] },
        // Below the plot: inside it, the legend covered the accuracy curve, which ends top right.
        legend: { orient: 'bottom', direction: 'horizontal' },
      },
    },
  };
}

/**
 * Renders a vega-lite spec to `file.svg` (and `file.png` with sharp), each written atomically.
 * Shared by the training plots and the fine-tuning confusion matrix.
 */
export async function renderChart(spec: object, file: string, png = true): Promise<void> {
  // Imported on demand: vega is large and only needed here.
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  const compiled = vegaLite.compile(spec as Parameters<typeof vegaLite.compile>[0]).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    await writeFileAtomic(`${file}.svg`, svg);
    if (png) {
      const { default: sharp } = await import('sharp');
      await writeFileAtomic(`${file}.png`, await sharp(Buffer.from(svg), { density: 144 }).png().toBuffer());
    }
  } finally {
    view.finalize();
  }
}

/**
 * Draws `DIR/loss.{svg,png}` (training loss at every logged step, plus validation loss per
 * epoch) and `DIR/accuracy.{svg,png}` (training and validation accuracy per epoch) from
 * metrics.jsonl records, with vega-lite → vega SVG → sharp PNG. The x axis is in epochs, from
 * the first epoch, so a step logged in the middle of epoch 2 sits at 1.5. Training is blue and
 * the evaluation data orange in both (see {@link SERIES_COLOURS}); the legend is below the plot.
 *
 * @example
 * await writePlots('runs/mnist', log.all, { validationLabel: 'test' });
 */
export async function writePlots(dir: string, records: readonly MetricsRecord[], options: PlotOptions = {}): Promise<void> {
  const label = options.validationLabel ?? 'validation';
  const png = options.png ?? true;
  const loss: Point[] = [];
  const accuracy: Point[] = [];
  for (const r of records) {
    if (r.type === 'step') {
      loss.push({ epoch: r.epoch - 1 + r.step / r.stepsPerEpoch, value: r.loss, series: 'training' });
    } else {
      accuracy.push({ epoch: r.epoch, value: r.trainAccuracy, series: 'training' });
      if (r.valLoss !== undefined) loss.push({ epoch: r.epoch, value: r.valLoss, series: label });
      if (r.valAccuracy !== undefined) accuracy.push({ epoch: r.epoch, value: r.valAccuracy, series: label });
    }
  }
  // Per-epoch values start at the first epoch (1, or later after a resume); per-step losses
  // start where that epoch's training started, one epoch before.
  const firstEpoch = records.reduce((first, r) => Math.min(first, r.epoch), records.length ? Infinity : 1);
  const firstLoss = records.some((r) => r.type === 'step' && r.epoch === firstEpoch) ? firstEpoch - 1 : firstEpoch;
  await renderChart(lineChart('Loss', 'cross-entropy', loss, { yZero: true, xFrom: firstLoss, label }), path.join(dir, 'loss'), png);
  await renderChart(lineChart('Accuracy', 'accuracy', accuracy, { yZero: false, xFrom: firstEpoch, label }), path.join(dir, 'accuracy'), png);
}
