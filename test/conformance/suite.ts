/**
 * The esbuild entry of the conformance bundle: tfjs-core's shipped test suite (every
 * `dist/*_test.js` that `dist/tests.js` lists), run on the backend that testEnv.ts sets up.
 */
import './testEnv.js';
import '@tensorflow/tfjs-core/dist/tests';
