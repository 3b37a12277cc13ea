import { promises as fs } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { fileError } from '../io/fileError.js';
import type { EpochMetrics, StepMetrics } from './types.js';

export const METRICS_FILE = 'metrics.jsonl';

/** One line of metrics.jsonl. */
export type MetricsRecord = ({ type: 'step' } & StepMetrics) | ({ type: 'epoch' } & EpochMetrics);

/**
 * Appends to `DIR/metrics.jsonl`, one JSON object per logged step and per epoch. On resume,
 * lines of epochs after the checkpoint (logged by a run that then crashed) are dropped first,
 * so the file tells the story of the weights actually kept.
 */
export class MetricsLog {
  readonly file: string;
  private records: MetricsRecord[] = [];

  private constructor(dir: string) {
    this.file = path.join(dir, METRICS_FILE);
  }

  /** Opens the log in `dir`, keeping only records of epochs ≤ `keepEpochs` (0: start afresh). */
  static async open(dir: string, keepEpochs: number): Promise<MetricsLog> {
    const log = new MetricsLog(dir);
    await fs.mkdir(dir, { recursive: true }).catch((error: NodeJS.ErrnoException) => {
      // A file where the run directory (or one above it) should be: say so, not EEXIST/ENOTDIR.
      if (error.code !== 'EEXIST' && error.code !== 'ENOTDIR') throw fileError(error, dir, 'create the output directory');
      throw new InputError(`out: \`${dir}\` is a file (or under one); expected a directory for the model, checkpoints, metrics and plots`);
    });
    if (keepEpochs > 0) {
      const text = await fs.readFile(log.file, 'utf8').catch(() => '');
      for (const line of text.split('\n')) {
        try {
          const record = JSON.parse(line) as MetricsRecord;
          if (record.epoch <= keepEpochs) log.records.push(record);
        } catch {
          // A line cut short by a crash: drop it.
        }
      }
    }
    // Atomic: a full disk here must not cost the log of the epochs being resumed.
    await writeFileAtomic(log.file, log.records.map((r) => `${JSON.stringify(r)}\n`).join(''));
    return log;
  }

  get all(): readonly MetricsRecord[] {
    return this.records;
  }

  async append(record: MetricsRecord): Promise<void> {
    this.records.push(record);
    await fs.appendFile(this.file, `${JSON.stringify(record)}\n`).catch((error) => {
      throw fileError(error, this.file, 'append to the metrics log');
    });
  }
}
