import { compress, decompress, init } from '@bokuweb/zstd-wasm';
import type { Codec } from './codec.js';

let ready: Promise<void> | null = null;
let initialised = false;

/** The WebAssembly module must be instantiated once before zstd can be used. */
export function initZstd(): Promise<void> {
  ready ??= init().then(() => {
    initialised = true;
  });
  return ready;
}

function assertReady(): void {
  if (!initialised) throw new Error('zstd is not initialised: await initCodecs() first');
}

/** Streaming producers (zstd-jni) omit the content size; grow the output until it fits. */
const MAX_OUTPUT = 1024 * 1024 * 1024;

export const zstd: Codec = {
  compress(data) {
    assertReady();
    return Buffer.from(compress(data, 3));
  },
  decompress(data) {
    assertReady();
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
