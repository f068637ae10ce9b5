export { Crc64 } from './crc64';
export { Crc64Js } from './crc64-js';
export { Crc64Wasm } from './crc64-wasm';
export { crc64Combine } from './combine';
