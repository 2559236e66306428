/**
 * The parts of the WebAssembly API this project uses, typed: the TypeScript libs it builds with
 * (ES2022 and @types/node) have no WebAssembly types, and the DOM lib would bring a browser's
 * globals in with them. Used for page-aligned memory (direct-io.ts) and the chunker's scan loop
 * (backup/gear-scan.ts).
 */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(pages: number): number;
}

export interface WasmGlobal {
  value: unknown;
}

export interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports?: object) => { readonly exports: Record<string, unknown> };
}

export const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
