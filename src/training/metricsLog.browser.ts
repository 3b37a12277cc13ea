import { nodeOnly } from '../io/nodeOnly.js';
import type { MetricsLog as NodeMetricsLog } from './metricsLog.js';

/** Opening one is where train() with `out` first touches the disk, so the error names `out`. */
export const MetricsLog = {
  async open(dir: string): Promise<NodeMetricsLog> {
    throw nodeOnly(`train's \`out\` option (\`out=${JSON.stringify(dir)}\`) writes checkpoints, metrics and plots, so it`,
      "leave `out` unset and save from onEpochEnd with model.save('downloads://name') or 'indexeddb://name'");
  },
};
