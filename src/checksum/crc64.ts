/**
 * CRC-64/XZ, the variant OSS reports as `x-oss-hash-crc64ecma` and FC as `codeChecksum`:
 * reflected polynomial 0xC96C5795D7870F42, init and xorout all ones.
 * Incremental, so a stream can be hashed chunk by chunk as it arrives:
 * `new Crc64().update(chunk)…digest()` gives the unsigned decimal string ("0" for no input).
 */
export { Crc64Js as Crc64 } from './crc64-js';
