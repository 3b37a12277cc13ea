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

function lineChart(title: string, yTitle: string, points: Point[], yZero: boolean): object {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 560,
    height: 320,
    background: 'white',
    data: { values: points },
    mark: { type: 'line', point: { size: 30 }, tooltip: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch', scale: { zero: true } },
      y: { field: 'value', type: 'quantitative', title: yTitle, scale: { zero: yZero } },
      color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'top-right' } },
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
 * metrics.jsonl records, with vega-lite → vega SVG → sharp PNG. The x axis is in epochs, so a
 * step logged in the middle of epoch 2 sits at 1.5.
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
      loss.push({ epoch: r.epoch - 1 + r.step / r.stepsPerEpoch, value: r.loss, series: 'training loss' });
    } else {
      accuracy.push({ epoch: r.epoch, value: r.trainAccuracy, series: 'training accuracy' });
      if (r.valLoss !== undefined) loss.push({ epoch: r.epoch, value: r.valLoss, series: `${label} loss` });
      if (r.valAccuracy !== undefined) accuracy.push({ epoch: r.epoch, value: r.valAccuracy, series: `${label} accuracy` });
    }
  }
  await renderChart(lineChart('Loss', 'cross-entropy', loss, true), path.join(dir, 'loss'), png);
  await renderChart(lineChart('Accuracy', 'accuracy', accuracy, false), path.join(dir, 'accuracy'), png);
}
