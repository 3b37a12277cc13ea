import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { renderChart } from '../training/plots.js';

/**
 * A vega-lite heatmap of confusion[label][predicted], counts written in the cells, rows
 * normalized for colour. `data` names the images in the title. Default 'validation'.
 */
export function confusionSpec(confusion: readonly (readonly number[])[], classNames: readonly string[], data = 'validation'): object {
  const values = confusion.flatMap((row, label) => {
    const total = row.reduce((a, b) => a + b, 0);
    return row.map((count, predicted) => ({
      label: classNames[label], predicted: classNames[predicted], count, rate: total ? count / total : 0,
    }));
  });
  const correct = confusion.reduce((a, row, i) => a + row[i], 0);
  const total = confusion.flat().reduce((a, b) => a + b, 0);
  const side = Math.max(200, Math.min(720, 36 * classNames.length));
  const order = [...classNames];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `Confusion matrix (${data}, accuracy ${total ? ((100 * correct) / total).toFixed(2) : '-'}%)`,
    width: side,
    height: side,
    background: 'white',
    data: { values },
    encoding: {
      x: { field: 'predicted', type: 'ordinal', sort: order, title: 'predicted class' },
      y: { field: 'label', type: 'ordinal', sort: order, title: 'true class' },
    },
    layer: [
      {
        mark: 'rect',
        encoding: {
          color: { field: 'rate', type: 'quantitative', title: 'row fraction', scale: { scheme: 'blues', domain: [0, 1] } },
        },
      },
      {
        mark: { type: 'text', fontSize: classNames.length > 20 ? 7 : 11 },
        transform: [{ filter: 'datum.count > 0' }],
        encoding: {
          text: { field: 'count', type: 'quantitative' },
          color: { condition: { test: 'datum.rate > 0.5', value: 'white' }, value: 'black' },
        },
      },
    ],
  };
}

/**
 * Draws `DIR/confusion.svg` and `DIR/confusion.png` (vega-lite → vega SVG → sharp PNG, like the
 * trainer's loss and accuracy plots), creating `dir` if needed. `data` names the images in the
 * title. Default 'validation'.
 *
 * @example
 * const { confusion } = await evaluate(model, val, { confusion: true });
 * await writeConfusionMatrix('runs/digits', confusion!, val.classNames);
 */
export async function writeConfusionMatrix(
  dir: string, confusion: readonly (readonly number[])[], classNames: readonly string[], data = 'validation',
): Promise<void> {
  await mkdir(dir, { recursive: true });
  await renderChart(confusionSpec(confusion, classNames, data), path.join(dir, 'confusion'));
}
