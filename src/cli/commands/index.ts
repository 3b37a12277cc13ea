import type { Command } from '../command.js';
import { evaluateCommand } from './evaluate.js';
import { exportCommand } from './export.js';
import { finetuneCommand } from './finetune.js';
import { predictCommand } from './predict.js';
import { trainMnistCommand } from './trainMnist.js';

/** Every `mobilenetv2` subcommand, in the order `--help` lists them. Add a command by adding its file and one line here. */
export const COMMANDS: readonly Command[] = [trainMnistCommand, evaluateCommand, finetuneCommand, predictCommand, exportCommand];
