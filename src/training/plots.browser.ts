import { nodeOnly } from '../io/nodeOnly.js';

export async function writePlots(dir: string): Promise<void> {
  throw nodeOnly(`writePlots('${dir}')`, 'draw the metrics from onLog/onEpochEnd callbacks on a canvas instead');
}
