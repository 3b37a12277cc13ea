/** A `.wasm` import, bundled by the browser build's `binary` loader (see embeddedWasm.ts). */
declare module '*.wasm' {
  const bytes: Uint8Array;
  export default bytes;
}
