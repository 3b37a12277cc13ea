import { nodeOnly } from '../io/nodeOnly.js';

export async function writeConfusionMatrix(dir: string): Promise<void> {
  throw nodeOnly(`writeConfusionMatrix('${dir}')`, "leave fineTune's `out` unset and read `evaluate(..., { confusion: true })` instead");
}
