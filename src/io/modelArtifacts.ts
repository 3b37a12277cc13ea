import { tf } from '../tf.js';

/**
 * What `model.save` would hand an IOHandler (topology, weight specs and data, metadata),
 * captured in memory with TF.js's own `tf.io.withSaveHandler`.
 */
export async function modelArtifacts(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let captured: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    captured = artifacts;
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
  }));
  return captured!;
}
