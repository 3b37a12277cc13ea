import { readFile } from 'node:fs/promises';
import { InputError } from '../errors.js';
import { pretrainedMobileNetV2 } from '../pretrained/pretrainedMobileNetV2.js';
import { isPretrainedName } from '../pretrained/weights.js';
import { loadRecordedTorchModel } from '../weights/recordedModel.js';
import type { tf } from '../tf.js';
import type { CliIO } from './command.js';
import { downloadBar } from './downloadBar.js';

/** Class names from a text file, one per line (blank lines and a trailing newline ignored). */
async function readLabels(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new InputError(`--labels ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)}); expected a text file with one class name per line`);
  }
  return text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line.length > 0);
}

/** Checks that exactly one of --model and --weights is given, and --labels only with --weights FILE. */
export function checkModelSource(command: string, model: string | undefined, weights: string | undefined, labels: string | undefined): void {
  if ((model === undefined) === (weights === undefined)) {
    throw new InputError(`give either --model DIR or --weights imagenet; run 'mobilenetv2 ${command} --help' for the options`);
  }
  if (labels !== undefined && (weights === undefined || isPretrainedName(weights))) {
    throw new InputError(weights === undefined
      ? '--labels goes with --weights FILE (a saved --model has its class names)'
      : `--labels goes with --weights FILE (--weights ${weights} has ImageNet's class names)`);
  }
}

/**
 * The model of `--weights`: torchvision's ImageNet weights by name (downloaded once, with a
 * progress bar on a TTY), or a state_dict file with `--labels` as its class names. A file from
 * `saveTorchWeights` (or back from torchrun) is rebuilt from the architecture and preprocessing
 * it records; any other torchvision MobileNetV2 state_dict is measured from its shapes.
 */
export async function openPretrained(weights: string, labels: string | undefined, io: CliIO): Promise<tf.LayersModel> {
  if (isPretrainedName(weights)) return pretrainedMobileNetV2({ weights, logger: io.logger, onProgress: downloadBar(io.stderr) });
  const classNames = labels === undefined ? undefined : await readLabels(labels);
  return (await loadRecordedTorchModel(weights, { ...(classNames && { classNames }) }))
    ?? pretrainedMobileNetV2({ file: weights, ...(classNames && { classNames }) });
}
