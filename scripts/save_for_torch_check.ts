/**
 * Writes models with saveTorchWeights for PyTorch to check (see test/fixtures/torchCheck.ts):
 *
 *   npx tsx scripts/save_for_torch_check.ts tmp/saved
 *   /usr/bin/python3 scripts/make_fixtures.py --check-saved tmp/saved
 *
 * This includes torchvision's default 224×224 α=1 model, which the test suite leaves out for speed.
 */
import { tf } from '../src/tf.js';
import { writeTorchCheckCases } from '../test/fixtures/torchCheck.js';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: npx tsx scripts/save_for_torch_check.ts OUT_DIR\n');
  process.exit(2);
}
await tf.setBackend('wasm');
await tf.ready();
for (const name of await writeTorchCheckCases(dir, { large: true })) process.stdout.write(`wrote ${name}\n`);
