// Runs before every test file (vitest `setupFiles`). Many tests pick the cpu backend with
// `tf.setBackend('cpu')` directly, and stock cpu greets its first tensor in Node with a banner
// telling users to install tfjs-node. `useBackend('cpu')` silences it for users (a deliberate
// choice of cpu needs no advice); the same here, or `npm test` prints it once per file.
import * as tf from '@tensorflow/tfjs';

// findBackend starts cpu (synchronously) without selecting it; `firstUse` is the flag the banner
// checks, the same one useBackend clears.
const cpu = tf.findBackend('cpu') as { firstUse?: boolean } | null;
if (cpu) cpu.firstUse = false;
