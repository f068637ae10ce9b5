/**
 * CRC-64/XZ, the variant OSS reports as `x-oss-hash-crc64ecma` and FC as `codeChecksum`:
 * reflected polynomial 0xC96C5795D7870F42, init and xorout all ones.
 * Incremental, so a stream can be hashed chunk by chunk as it arrives.
 */

import { Crc64Js } from './crc64-js';
import { Crc64Wasm, wasmCoreAvailable } from './crc64-wasm';

/** Hashes on the WebAssembly core where it can run, else on the pure TypeScript engine; same results. */
export class Crc64 {
  private readonly engine: Crc64Wasm | Crc64Js = wasmCoreAvailable() ? new Crc64Wasm() : new Crc64Js();

  /** Accepts any Uint8Array (Buffers included) at any offset; empty chunks are no-ops. */
  update(chunk: Uint8Array): this {
    this.engine.update(chunk);
    return this;
  }

  /** Unsigned decimal string, as OSS and FC write it ("0" for no input). Does not reset the state. */
  digest(): string {
    return this.engine.digest();
  }
}
