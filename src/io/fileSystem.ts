import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
// '@tensorflow/tfjs' itself, not ../tf.js: tf.ts imports this file through fileRouter.ts (see
// backend/registerKernels.ts for the same cycle). Same package, same engine.
import * as tf from '@tensorflow/tfjs';
import { trackTemporary, writeFileAtomic } from './atomic.js';
import { makeDirectory } from './fileError.js';

const MODEL_JSON = 'model.json';

function toBytes(data: tf.io.WeightData | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  const buffer = Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data;
  return new Uint8Array(buffer);
}

/**
 * A TF.js IOHandler for a directory on the local disk: `model.json` plus one weights file,
 * the same layout `tfjs-node`'s `file://` handler writes and every TF.js loader reads.
 * Plain `@tensorflow/tfjs` has no file-system handler in Node, hence this one.
 *
 * Saving is crash-safe: the weights go to a new uniquely named file, then `model.json` is
 * replaced by an atomic rename, and only then are the old weights removed. A kill at any
 * moment leaves a `model.json` that points at complete weights, old or new. A failed save (a
 * full disk) removes the new weights file again and throws a one-line `FileError` naming the
 * file and the errno; the previous model stays as it was.
 *
 * @example
 * await model.save(fileSystem('runs/mnist'));
 * const again = await tf.loadLayersModel(fileSystem('runs/mnist'));
 */
export function fileSystem(dir: string): tf.io.IOHandler {
  // A path ending in .json names the model file itself (a page's 'downloads://name' saves name.json).
  const modelPath = dir.endsWith('.json') ? dir : path.join(dir, MODEL_JSON);
  dir = path.dirname(modelPath);
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new Error('fileSystem: binary model topologies are not supported');
      }
      await makeDirectory(dir, 'create the model directory');
      const previous = await readManifestPaths(modelPath);
      const weightsName = `weights-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}.bin`;
      const weightsManifest: tf.io.WeightsManifestConfig = [{ paths: [weightsName], weights: artifacts.weightSpecs ?? [] }];
      const modelJSON: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology ?? {},
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest,
      };
      if (artifacts.trainingConfig != null) modelJSON.trainingConfig = artifacts.trainingConfig;
      if (artifacts.userDefinedMetadata != null) modelJSON.userDefinedMetadata = artifacts.userDefinedMetadata;
      const weightsPath = path.join(dir, weightsName);
      // Until model.json points at them, the new weights are a temporary like any other.
      const untrack = trackTemporary(weightsPath);
      try {
        await writeFileAtomic(weightsPath, toBytes(artifacts.weightData));
        await writeFileAtomic(modelPath, JSON.stringify(modelJSON));
      } catch (error) {
        await fs.rm(weightsPath, { force: true }).catch(() => {});
        throw error;
      } finally {
        untrack();
      }
      await Promise.all(previous.filter((p) => p !== weightsName).map((p) => fs.rm(path.join(dir, p), { force: true })));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },

    async load(): Promise<tf.io.ModelArtifacts> {
      let text: string;
      try {
        text = await fs.readFile(modelPath, 'utf8');
      } catch {
        throw new InputError(`${modelPath}: cannot read the model; expected a TF.js model directory with model.json`);
      }
      let modelJSON: tf.io.ModelJSON;
      try {
        modelJSON = JSON.parse(text);
      } catch {
        throw new InputError(`${modelPath}: not valid JSON`);
      }
      if (modelJSON === null || typeof modelJSON !== 'object' || !modelJSON.modelTopology) {
        throw new InputError(`${modelPath}: no modelTopology; expected a TF.js LayersModel model.json`);
      }
      return tf.io.getModelArtifactsForJSON(modelJSON, async (manifest) => {
        const specs = tf.io.getWeightSpecs(manifest);
        const buffers = await Promise.all(
          manifest.flatMap((group) => group.paths).map(async (p) => {
            const file = path.join(dir, p);
            try {
              const bytes = await fs.readFile(file);
              return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
            } catch {
              throw new InputError(`${file}: cannot read weights listed in ${modelPath}`);
            }
          }),
        );
        return [specs, tf.io.concatenateArrayBuffers(buffers)];
      });
    },
  };
}

async function readManifestPaths(modelPath: string): Promise<string[]> {
  try {
    const json = JSON.parse(await fs.readFile(modelPath, 'utf8')) as tf.io.ModelJSON;
    return (json.weightsManifest ?? []).flatMap((g) => g.paths);
  } catch {
    return [];
  }
}

/** Reads a LayersModel saved by {@link fileSystem} (or tfjs-node's `file://`) from `dir`, or from a model `.json` file and the weights beside it. */
export async function loadModel(dir: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel(fileSystem(dir));
}
