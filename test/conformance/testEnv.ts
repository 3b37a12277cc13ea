// The first module of the bundle (see suite.ts): it picks the backend and the kernels before
// tfjs-core's spec files register their describes, as each TF.js backend's own setup_test does.
import { setTestEnvs } from '@tensorflow/tfjs-core/dist/jasmine_util';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { train } from '@tensorflow/tfjs-core';
import { FusedAdamOptimizer } from '../../src/backend/optimizers/fusedAdam.js';
import { registerKernels } from '../../src/backend/registerKernels.js';

const backendName = process.env.CONFORMANCE_BACKEND!;
setTestEnvs([{ name: backendName, backendName, isDataSync: true }]);
// The bundle lives elsewhere than the package, so emscripten's own lookup would miss the binary.
setWasmPaths(process.env.CONFORMANCE_WASM_DIR!);
if (process.env.CONFORMANCE_KERNELS === 'library') {
  registerKernels();
  // tfjs-core's Adam specs run FusedAdamOptimizer: in this test bundle only, tf.train.adam makes one.
  train.adam = (learningRate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon?: number) => new FusedAdamOptimizer(learningRate, beta1, beta2, epsilon);
}
