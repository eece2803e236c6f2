/**
 * engine/transaction-codec.ts: the binary encoding of a `Transaction` (transaction.ts), which
 * the on-disk engine journals (record.ts).
 *
 * Encoding (little-endian throughout):
 *
 * | offset | size | field                                                         |
 * |--------|------|---------------------------------------------------------------|
 * | 0      | 4    | magic "EBTX" (0x45 0x42 0x54 0x58)                            |
 * | 4      | 2    | u16 version = 1                                               |
 * | 6      | 2    | u16 flags: bit 0 = epoch present; others must be 0            |
 * | 8      | 8    | u64 epoch (0 when absent)                                     |
 * | 16     | 4    | u32 collection-table count C                                  |
 * | 20     | 4    | u32 object-table count O                                      |
 * | 24     | 4    | u32 op count N                                                |
 * | 28     | var  | C x (u16 length, latin-1 collection id)                       |
 * | ..     | var  | O x (u32 length, object key from oid-key.ts)                  |
 * | ..     | var  | N x (u8 tag, u32 body length, body)                           |
 *
 * Op bodies, in field order: a collection is a u32 index into the collection table, an object
 * a u32 index into the object table, a number a u64, bytes a (u32 length, bytes), a pair list
 * a (u32 count, count x (bytes, bytes)), a key list a (u32 count, count x bytes).
 *
 * Invariants: tags are `OP_TAGS` values (0 invalid, never reused); every index is in range;
 * each body is consumed exactly; the decoder re-validates through the builder, so a decoded
 * transaction satisfies every limit an encoded one did.
 *
 * Versioning: an unknown version, flag or tag is `EFORMAT` (written by newer code). The body
 * length lets a future reader skip ops it knows to be ignorable; v1 knows none.
 *
 * Why: the tables make repeated collection and object ids (Ceph's habit) cost 4 bytes each;
 * integrity (checksums) is the journal record's job, not this format's.
 */
import { CorruptionError, EbofsError } from '../common/errors.js';
import { assert, assertNever } from '../common/assert.js';
import { Transaction } from './transaction.js';
import { type BytesPair, type Op, type OpType, OP_TAGS } from './types-ops.js';
import { type Ghobject } from './types.js';
import { TRANSACTION_OPS_MAX } from './limits.js';
import { decodeOidKey, encodeOidKey } from './oid-key.js';

const MAGIC = 0x5854_4245; // "EBTX" read as a little-endian u32
const VERSION = 1;
const FLAG_EPOCH = 1;
const TAG_TO_TYPE: ReadonlyMap<number, OpType> = new Map(
  (Object.entries(OP_TAGS) as Array<[OpType, number]>).map(([type, tag]) => [tag, type]),
);

/** Where encoded fields go: a `Sizer` counts them, a `Writer` stores them. */
interface Sink {
  u8(v: number): void;
  u16(v: number): void;
  u32(v: number): void;
  u64(v: number): void;
  raw(bytes: Uint8Array): void;
  bytes(bytes: Uint8Array): void;
}

/** Counts the bytes an encoding takes (the first of the encoder's two passes). */
class Sizer implements Sink {
  length = 0;
  u8(_v: number): void { this.length += 1; }
  u16(_v: number): void { this.length += 2; }
  u32(_v: number): void { this.length += 4; }
  u64(_v: number): void { this.length += 8; }
  raw(bytes: Uint8Array): void { this.length += bytes.length; }
  bytes(bytes: Uint8Array): void { this.length += 4 + bytes.length; }
}

/** A little-endian writer into a buffer the `Sizer` pass sized exactly. */
class Writer implements Sink {
  constructor(private readonly buf: Uint8Array, public at: number) {}

  u8(v: number): void { this.buf[this.at++] = v; }
  u16(v: number): void {
    const b = this.buf;
    const at = this.at;
    b[at] = v; b[at + 1] = v >>> 8;
    this.at = at + 2;
  }
  u32(v: number): void {
    const b = this.buf;
    const at = this.at;
    b[at] = v; b[at + 1] = v >>> 8; b[at + 2] = v >>> 16; b[at + 3] = v >>> 24;
    this.at = at + 4;
  }
  u64(v: number): void {
    this.u32(v >>> 0);
    this.u32(Math.floor(v / 0x1_0000_0000));
  }
  raw(bytes: Uint8Array): void {
    this.buf.set(bytes, this.at);
    this.at += bytes.length;
  }
  bytes(bytes: Uint8Array): void { this.u32(bytes.length); this.raw(bytes); }
}

/** A bounds-checked little-endian reader; overruns are CorruptionError. */
class Reader {
  private readonly view: DataView;
  at = 0;
  constructor(private readonly buf: Uint8Array, private readonly where: string) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  need(n: number): void {
    if (this.at + n > this.buf.length) this.fail(`truncated at ${this.at} (+${n})`);
  }

  fail(what: string): never {
    throw new CorruptionError('ECORRUPT', `transaction: ${what}`, { location: this.where });
  }

  u8(): number { this.need(1); return this.view.getUint8(this.at++); }
  u16(): number { this.need(2); const v = this.view.getUint16(this.at, true); this.at += 2; return v; }
  u32(): number { this.need(4); const v = this.view.getUint32(this.at, true); this.at += 4; return v; }
  u64(): number {
    this.need(8);
    const v = this.view.getBigUint64(this.at, true);
    this.at += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`u64 ${v} beyond 2^53`);
    return Number(v);
  }
  raw(n: number): Uint8Array { this.need(n); const v = this.buf.slice(this.at, this.at + n); this.at += n; return v; }
  bytes(): Uint8Array { return this.raw(this.u32()); }
}

/** Tables up to this size are searched linearly (no string keys built). */
const TABLE_SCAN_MAX = 8;

/** Interns collection and object ids into the encoding's tables. */
class Tables {
  readonly cids: string[] = [];
  readonly oids: Uint8Array[] = [];
  /** Ids already interned, by identity (the write pass looks every id up again). */
  private readonly byObject = new Map<Ghobject, number>();
  private oidIndex: Map<string, number> | undefined;

  cid(cid: string): number {
    const cids = this.cids;
    for (let i = 0; i < cids.length; i++) if (cids[i] === cid) return i;
    cids.push(cid);
    return cids.length - 1;
  }

  oid(oid: Ghobject): number {
    let i = this.byObject.get(oid);
    if (i !== undefined) return i;
    const key = encodeOidKey(oid);
    const oids = this.oids;
    if (this.oidIndex === undefined) {
      for (let j = 0; j < oids.length; j++) if (equalBytes(oids[j]!, key)) { i = j; break; }
      if (i === undefined && oids.length >= TABLE_SCAN_MAX) {
        this.oidIndex = new Map(oids.map((k, j) => [Buffer.from(k).toString('latin1'), j]));
      }
    }
    if (this.oidIndex !== undefined && i === undefined) {
      const text = Buffer.from(key).toString('latin1');
      i = this.oidIndex.get(text);
      if (i === undefined) this.oidIndex.set(text, oids.length);
    }
    if (i === undefined) { i = oids.length; oids.push(key); }
    this.byObject.set(oid, i);
    return i;
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function writePairs(w: Sink, pairs: readonly BytesPair[]): void {
  w.u32(pairs.length);
  for (const [k, v] of pairs) { w.bytes(k); w.bytes(v); }
}

/**
 * Writes the body of `op` (everything after tag and body length). `omitData`: a write op's
 * data is encoded as empty bytes (a large write's data lives at its placement).
 */
function writeOpBody(w: Sink, t: Tables, op: Op, omitData: boolean): void {
  if (op.type === 'setFloor') { w.u64(op.epoch); return; }
  w.u32(t.cid(op.cid));
  switch (op.type) {
    case 'createCollection': w.u32(op.bits); return;
    case 'removeCollection': return;
    case 'splitCollection': w.u32(op.bits); w.u32(op.rem); w.u32(t.cid(op.targetCid)); return;
    case 'mergeCollection': w.u32(t.cid(op.targetCid)); w.u32(op.bits); return;
    default: break;
  }
  w.u32(t.oid(op.oid));
  switch (op.type) {
    case 'touch': case 'remove': case 'rmattrs': case 'omapClear': return;
    case 'write': w.u64(op.offset); if (omitData) w.u32(0); else w.bytes(op.data); return;
    case 'zero': w.u64(op.offset); w.u64(op.length); return;
    case 'truncate': w.u64(op.size); return;
    case 'setattr': w.bytes(op.name); w.bytes(op.value); return;
    case 'setattrs': writePairs(w, op.attrs); return;
    case 'rmattr': w.bytes(op.name); return;
    case 'omapSetKeys': writePairs(w, op.entries); return;
    case 'omapRmKeys': w.u32(op.keys.length); for (const k of op.keys) w.bytes(k); return;
    case 'omapRmKeyRange': w.bytes(op.first); w.bytes(op.last); return;
    case 'omapSetHeader': w.bytes(op.header); return;
    case 'collectionMoveRename': w.u32(t.cid(op.targetCid)); w.u32(t.oid(op.targetOid)); return;
    case 'setAllocHint': w.u64(op.expectedObjectSize); w.u64(op.expectedWriteSize); w.u32(op.flags); return;
    case 'clone': w.u32(t.oid(op.targetOid)); return;
    case 'cloneRange':
      w.u32(t.oid(op.targetOid)); w.u64(op.sourceOffset); w.u64(op.length); w.u64(op.targetOffset); return;
    default: assertNever(op, 'op');
  }
}

/**
 * A transaction laid out for encoding: `byteLength` is exact, `writeTo` stores the encoding.
 * `omitData(opIndex)`: write ops whose data the encoding leaves out (as empty bytes).
 */
export class TransactionEncoder {
  readonly byteLength: number;
  private readonly tables = new Tables();

  constructor(private readonly tx: Transaction, private readonly omitData?: (opIndex: number) => boolean) {
    const sizer = new Sizer();
    this.body(sizer);
    let size = 28 + sizer.length;
    for (const cid of this.tables.cids) size += 2 + cid.length;
    for (const key of this.tables.oids) size += 4 + key.length;
    this.byteLength = size;
  }

  /** Writes the encoding at `at` of `target` (which has `byteLength` bytes there). */
  writeTo(target: Uint8Array, at: number): void {
    const w = new Writer(target, at);
    const { tx, tables } = this;
    w.u32(MAGIC);
    w.u16(VERSION);
    w.u16(tx.epoch === undefined ? 0 : FLAG_EPOCH);
    w.u64(tx.epoch ?? 0);
    w.u32(tables.cids.length);
    w.u32(tables.oids.length);
    w.u32(tx.opCount);
    for (const cid of tables.cids) {
      w.u16(cid.length);
      for (let i = 0; i < cid.length; i++) w.u8(cid.charCodeAt(i));
    }
    for (const key of tables.oids) w.bytes(key);
    this.body(w);
    assert(w.at === at + this.byteLength, 'transaction encoding size mismatch');
  }

  private body(w: Sizer | Writer): void {
    const ops = this.tx.ops;
    const omit = this.omitData;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      w.u8(OP_TAGS[op.type]);
      if (w instanceof Writer) {
        const lengthAt = w.at;
        w.u32(0);
        writeOpBody(w, this.tables, op, omit?.(i) === true);
        const end = w.at;
        w.at = lengthAt;
        w.u32(end - lengthAt - 4);
        w.at = end;
      } else {
        w.u32(0);
        writeOpBody(w, this.tables, op, omit?.(i) === true);
      }
    }
  }
}

/** Encodes a transaction (see the module head). */
export function encodeTransaction(tx: Transaction): Uint8Array {
  const encoder = new TransactionEncoder(tx);
  const out = new Uint8Array(encoder.byteLength);
  encoder.writeTo(out, 0);
  return out;
}

function readPairs(r: Reader): Array<[Uint8Array, Uint8Array]> {
  const n = r.u32();
  const out: Array<[Uint8Array, Uint8Array]> = [];
  for (let i = 0; i < n; i++) out.push([r.bytes(), r.bytes()]);
  return out;
}

/** Reads one op body through the builder, so every argument is validated again. */
function readOp(tx: Transaction, type: OpType, r: Reader, cids: string[], oids: Ghobject[]): void {
  const cid = (): string => cids[r.u32()] ?? r.fail('collection index out of range');
  const oid = (): Ghobject => oids[r.u32()] ?? r.fail('object index out of range');
  if (type === 'setFloor') { tx.setFloor(r.u64()); return; }
  const c = cid();
  switch (type) {
    case 'createCollection': tx.createCollection(c, r.u32()); return;
    case 'removeCollection': tx.removeCollection(c); return;
    case 'splitCollection': {
      const bits = r.u32();
      const rem = r.u32();
      tx.splitCollection(c, bits, rem, cid());
      return;
    }
    case 'mergeCollection': { const target = cid(); tx.mergeCollection(c, target, r.u32()); return; }
    default: break;
  }
  const o = oid();
  switch (type) {
    case 'touch': tx.touch(c, o); return;
    case 'remove': tx.remove(c, o); return;
    case 'rmattrs': tx.rmattrs(c, o); return;
    case 'omapClear': tx.omapClear(c, o); return;
    case 'write': { const off = r.u64(); tx.write(c, o, off, r.bytes()); return; }
    case 'zero': { const off = r.u64(); tx.zero(c, o, off, r.u64()); return; }
    case 'truncate': tx.truncate(c, o, r.u64()); return;
    case 'setattr': { const name = r.bytes(); tx.setattr(c, o, name, r.bytes()); return; }
    case 'setattrs': tx.setattrs(c, o, readPairs(r)); return;
    case 'rmattr': tx.rmattr(c, o, r.bytes()); return;
    case 'omapSetKeys': tx.omapSetKeys(c, o, readPairs(r)); return;
    case 'omapRmKeys': {
      const n = r.u32();
      const keys: Uint8Array[] = [];
      for (let i = 0; i < n; i++) keys.push(r.bytes());
      tx.omapRmKeys(c, o, keys);
      return;
    }
    case 'omapRmKeyRange': { const first = r.bytes(); tx.omapRmKeyRange(c, o, first, r.bytes()); return; }
    case 'omapSetHeader': tx.omapSetHeader(c, o, r.bytes()); return;
    case 'collectionMoveRename': { const tc = cid(); tx.collectionMoveRename(c, o, tc, oid()); return; }
    case 'setAllocHint': {
      const size = r.u64(); const write = r.u64(); tx.setAllocHint(c, o, size, write, r.u32()); return;
    }
    case 'clone': tx.clone(c, o, oid()); return;
    case 'cloneRange': {
      const target = oid(); const so = r.u64(); const len = r.u64();
      tx.cloneRange(c, o, target, so, len, r.u64());
      return;
    }
    default: assertNever(type, 'op type');
  }
}

function readHeader(r: Reader, tx: Transaction): [number, number, number] {
  if (r.u32() !== MAGIC) r.fail('bad magic');
  const version = r.u16();
  const flags = r.u16();
  if (version !== VERSION || (flags & ~FLAG_EPOCH) !== 0) {
    throw new EbofsError('EFORMAT', `transaction version ${version} flags ${flags} unknown`);
  }
  const epoch = r.u64();
  if ((flags & FLAG_EPOCH) !== 0) tx.setEpoch(epoch);
  return [r.u32(), r.u32(), r.u32()];
}

/** Decodes `encodeTransaction` output. Bad bytes: CorruptionError; newer format: EFORMAT. */
export function decodeTransaction(bytes: Uint8Array, where = 'transaction'): Transaction {
  const r = new Reader(bytes, where);
  const tx = new Transaction();
  const [cidCount, oidCount, opCount] = readHeader(r, tx);
  if (opCount > TRANSACTION_OPS_MAX) r.fail(`op count ${opCount}`);
  const cids: string[] = [];
  for (let i = 0; i < cidCount; i++) cids.push(Buffer.from(r.raw(r.u16())).toString('latin1'));
  const oids: Ghobject[] = [];
  for (let i = 0; i < oidCount; i++) oids.push(decodeOidKey(r.bytes(), `${where} object ${i}`));
  for (let i = 0; i < opCount; i++) {
    const tag = r.u8();
    const type = TAG_TO_TYPE.get(tag);
    if (type === undefined) throw new EbofsError('EFORMAT', `unknown op tag ${tag} at op ${i}`);
    const length = r.u32();
    const end = r.at + length;
    r.need(length);
    try {
      readOp(tx, type, r, cids, oids);
    } catch (err) {
      if (err instanceof CorruptionError) throw err;
      throw new CorruptionError('ECORRUPT', `op ${i} (${type}) invalid`, { location: where, cause: err });
    }
    if (r.at !== end) r.fail(`op ${i} body length ${length} does not match`);
  }
  if (r.at !== bytes.length) r.fail(`${bytes.length - r.at} trailing bytes`);
  return tx;
}
