// The record framing every Warren file uses: [u32 payload length][u32 CRC-32 of the payload][payload].
// A record cut short by a crash (a torn tail) is detected and cut off; a record whose checksum does
// not match is skipped and reported, never trusted.
import { crc32 } from 'node:zlib';

export const RECORD_HEADER_SIZE = 8;

/** The 8-byte header for a payload made of `parts` (checksummed in order, without joining them). */
export function recordHeader(parts: readonly Buffer[]): Buffer {
  let length = 0;
  let crc = 0;
  for (const p of parts) {
    length += p.length;
    crc = crc32(p, crc);
  }
  const header = Buffer.allocUnsafe(RECORD_HEADER_SIZE);
  header.writeUInt32BE(length, 0);
  header.writeUInt32BE(crc, 4);
  return header;
}

/**
 * Calls `onRecord` for each record of `data` in order, with its payload (a slice of `data`), or
 * undefined when the checksum does not match. A record whose length runs past the end is a torn
 * tail: scanning stops there. Returns where the last whole record ends.
 */
export function scanRecords(data: Buffer, onRecord: (payload: Buffer | undefined, offset: number) => void): number {
  let offset = 0;
  while (offset + RECORD_HEADER_SIZE <= data.length) {
    const length = data.readUInt32BE(offset);
    const end = offset + RECORD_HEADER_SIZE + length;
    if (end > data.length) break;
    const payload = data.subarray(offset + RECORD_HEADER_SIZE, end);
    onRecord(crc32(payload) === data.readUInt32BE(offset + 4) ? payload : undefined, offset);
    offset = end;
  }
  return offset;
}
