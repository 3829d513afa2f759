import { endianness } from 'node:os';

const LITTLE_ENDIAN_HOST = endianness() === 'LE';

/**
 * The little-endian bytes of 16-bit PCM, as WAV stores them. On little-endian hosts (x86, ARM)
 * this is a view of the same memory, no copy.
 */
export function pcm16leBytes(pcm: Int16Array): Buffer {
  if (LITTLE_ENDIAN_HOST) return Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
  const bytes = Buffer.allocUnsafe(pcm.byteLength);
  for (let i = 0; i < pcm.length; i++) bytes.writeInt16LE(pcm[i]!, 2 * i);
  return bytes;
}
