// Browser build only (see tf.browser.ts): tsup embeds these binaries with esbuild's `binary`
// loader, in a chunk of their own that is fetched only when the wasm backend starts.
import plain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm';
import simd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm';
import threadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm';

const url = (bytes: Uint8Array) => URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/wasm' }));

/** Object URLs of the three TF.js wasm binaries, keyed as `setWasmPaths` wants them. */
export function embeddedWasmUrls(): Record<'tfjs-backend-wasm.wasm' | 'tfjs-backend-wasm-simd.wasm' | 'tfjs-backend-wasm-threaded-simd.wasm', string> {
  return {
    'tfjs-backend-wasm.wasm': url(plain),
    'tfjs-backend-wasm-simd.wasm': url(simd),
    'tfjs-backend-wasm-threaded-simd.wasm': url(threadedSimd),
  };
}
