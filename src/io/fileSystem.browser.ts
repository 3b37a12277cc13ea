import type { tf } from '../tf.js';
import { nodeOnly } from './nodeOnly.js';

const INSTEAD = "in a page save to 'downloads://name' or 'indexeddb://name', and load from a URL";

export function fileSystem(dir: string): tf.io.IOHandler {
  throw nodeOnly(`fileSystem('${dir}')`, INSTEAD);
}

export async function loadModel(dir: string): Promise<tf.LayersModel> {
  throw nodeOnly(`loadModel('${dir}')`, `load with tf.loadLayersModel('${dir}/model.json') from a URL instead`);
}
