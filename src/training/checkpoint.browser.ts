import { nodeOnly } from '../io/nodeOnly.js';

export async function saveCheckpoint(runDir: string): Promise<void> {
  throw nodeOnly(`saveCheckpoint('${runDir}')`, "save the model with model.save('indexeddb://name') instead");
}
