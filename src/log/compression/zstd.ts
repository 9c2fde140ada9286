import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Codec } from './codec.js';

interface ZstdApi {
  compress(buf: Uint8Array, level?: number): Uint8Array;
  decompress(buf: Uint8Array, opts?: { defaultHeapSize?: number }): Uint8Array;
}

// Node's WebAssembly global, typed only as far as used here (the project's lib has no DOM types).
interface WasmInstance {
  exports: object;
}
interface Wasm {
  Module: new (binary: Uint8Array) => object;
  Instance: new (module: object, imports: object) => WasmInstance;
}
const wasm = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly;

interface EmscriptenModule {
  instantiateWasm?: (imports: object, receive: (instance: WasmInstance) => unknown) => object;
  init(binary?: Uint8Array): unknown;
}

const require = createRequire(import.meta.url);
let api: ZstdApi | null = null;

/**
 * Loads zstd on first use. The WebAssembly module and its memory cost ~7 MB of resident memory that
 * a broker without zstd traffic never needs, so nothing loads it at start. It is instantiated
 * synchronously (the Emscripten glue's `instantiateWasm` hook with `new WebAssembly.Instance`) so
 * the synchronous paths that may meet a zstd batch (compaction, timestamp lookups) need no prior
 * asynchronous set-up.
 */
function zstdApi(): ZstdApi {
  if (api) return api;
  const main = require.resolve('@bokuweb/zstd-wasm');
  const glue = (require(join(dirname(main), 'zstd.js')) as { Module: EmscriptenModule }).Module;
  const binary = readFileSync(join(dirname(main), 'zstd.wasm'));
  glue.instantiateWasm = (imports, receive) => {
    const instance = new wasm.Instance(new wasm.Module(binary), imports);
    receive(instance);
    return instance.exports;
  };
  // With the hook in place, init() instantiates and runs the runtime's constructors before returning.
  glue.init(binary);
  api = require(main) as ZstdApi;
  return api;
}

/** Loads zstd now rather than on its first batch. */
export function initZstd(): Promise<void> {
  zstdApi();
  return Promise.resolve();
}

/** Streaming producers (zstd-jni) omit the content size; grow the output until it fits. */
const MAX_OUTPUT = 1024 * 1024 * 1024;

export const zstd: Codec = {
  compress(data) {
    return Buffer.from(zstdApi().compress(data, 3));
  },
  decompress(data) {
    const { decompress } = zstdApi();
    let heap = Math.max(1024 * 1024, data.length * 8);
    for (;;) {
      try {
        const out = decompress(data, { defaultHeapSize: heap });
        return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
      } catch (err) {
        if (heap >= MAX_OUTPUT) throw err;
        heap *= 4;
      }
    }
  },
};
