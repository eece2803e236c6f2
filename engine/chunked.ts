/**
 * engine/chunked.ts: values of any length stored as chunks under consecutive keys.
 *
 * A value for base key B is stored as B||u16be(0), B||u16be(1), ...; chunk 0 starts with the
 * value's total length (u32 little-endian). Chunk payloads adapt to the key length so that
 * every cell fits a btree page. See meta-keys.ts for the trees that use it.
 */
import { CorruptionError, EbofsError } from '../common/errors.js';
import type { TreeReader, WriteBatch } from '../btree/index.js';

/** Most chunks one value may have (u16 index). */
export const CHUNKS_PER_VALUE_MAX = 65_535;
/** Bytes of a cell that are not key or value (prefixes, slot), with margin. */
const CELL_OVERHEAD_BYTES = 16;

function chunkKey(base: Uint8Array, index: number): Buffer {
  const key = Buffer.alloc(base.byteLength + 2);
  key.set(base, 0);
  key.writeUInt16BE(index, base.byteLength);
  return key;
}

function chunkPayloadBytes(base: Uint8Array, cellSizeMax: number): number {
  const room = cellSizeMax - base.byteLength - 2 - CELL_OVERHEAD_BYTES;
  if (room < 32) throw new EbofsError('E2BIG', `key of ${base.byteLength} bytes leaves no room for a value`);
  return room;
}

/** Replaces the value at `base` (deleting any longer old value's extra chunks). */
export function putChunked(batch: WriteBatch, base: Uint8Array, value: Uint8Array, cellSizeMax: number): void {
  deleteChunked(batch, base);
  const per = chunkPayloadBytes(base, cellSizeMax);
  const total = value.byteLength + 4;
  const count = Math.max(1, Math.ceil(total / per));
  if (count > CHUNKS_PER_VALUE_MAX) throw new EbofsError('E2BIG', `value of ${value.byteLength} bytes is too long`);
  const whole = Buffer.alloc(total);
  whole.writeUInt32LE(value.byteLength, 0);
  whole.set(value, 4);
  for (let i = 0; i < count; i++) batch.put(chunkKey(base, i), whole.subarray(i * per, Math.min(total, (i + 1) * per)));
}

/** The value at `base`, or undefined. */
export function getChunked(reader: TreeReader, base: Uint8Array): Buffer | undefined {
  const first = reader.get(chunkKey(base, 0));
  if (first === undefined) return undefined;
  return assemble(reader, base, first);
}

function assemble(reader: TreeReader, base: Uint8Array, first: Uint8Array): Buffer {
  const where = `chunked value ${Buffer.from(base).toString('hex')}`;
  if (first.byteLength < 4) throw new CorruptionError('ECORRUPT', 'chunk 0 too short', { location: where });
  const total = Buffer.from(first.buffer, first.byteOffset, first.byteLength).readUInt32LE(0);
  const out = Buffer.alloc(total + 4);
  let at = 0;
  for (let i = 0; at < total + 4; i++) {
    const chunk = i === 0 ? first : reader.get(chunkKey(base, i));
    if (chunk === undefined || chunk.byteLength === 0 || i >= CHUNKS_PER_VALUE_MAX || at + chunk.byteLength > total + 4) {
      throw new CorruptionError('ECORRUPT', `chunk ${i} missing or too long`, { location: where });
    }
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out.subarray(4);
}

/** Deletes the value at `base`; returns whether there was one. */
export function deleteChunked(batch: WriteBatch, base: Uint8Array): boolean {
  let found = false;
  for (let i = 0; i <= CHUNKS_PER_VALUE_MAX; i++) {
    if (!batch.delete(chunkKey(base, i))) break;
    found = true;
  }
  return found;
}

/** Deletes every chunk of every value whose base lies in [start, end). */
export function deleteRange(batch: WriteBatch, start: Uint8Array, end: Uint8Array): number {
  const doomed: Uint8Array[] = [];
  for (const entry of batch.range({ start, end })) doomed.push(entry.key);
  for (const key of doomed) batch.delete(key);
  return doomed.length;
}

/** Every (base, value) whose base lies in [start, end), in key order. */
export function* iterateChunked(reader: TreeReader, start: Uint8Array, end: Uint8Array): Generator<[Buffer, Buffer]> {
  for (const entry of reader.range({ start, end })) {
    const index = Buffer.from(entry.key.buffer, entry.key.byteOffset, entry.key.byteLength).readUInt16BE(entry.key.byteLength - 2);
    if (index !== 0) continue;
    const base = Buffer.from(entry.key.subarray(0, entry.key.byteLength - 2));
    yield [base, assemble(reader, base, entry.value)];
  }
}
