export { Crc64 } from './crc64';
export { Crc64Js } from './crc64-js';
export { crc64Combine } from './combine';
