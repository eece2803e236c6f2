/**
 * Every limit of the engine's public object model, in one place (STYLE.md, "Limits on
 * everything").
 *
 * Each limit is checked at the API boundary — when a Transaction is built, or when a read
 * names an object — and an exceeded limit raises `E2BIG` (a size or count) or `EINVAL` (a
 * malformed value). Limits are API: raising one is compatible, lowering one is not (a store
 * written under a higher limit could hold objects a reader then refuses).
 *
 * Where Ceph has an equivalent, the value follows it and the comment names it.
 */
import { assert } from '../common/assert.js';

/**
 * Largest logical object size in bytes: every `offset + length` of a write, zero, truncate or
 * clone range must be `<= OBJECT_SIZE_BYTES_MAX`. BlueStore refuses `offset + len >=
 * 0xffffffff` (`OBJECT_MAX_SIZE`) with E2BIG; we accept exactly what BlueStore accepts.
 */
export const OBJECT_SIZE_BYTES_MAX = 0xffff_fffe;

/** Largest object name in bytes (Ceph `osd_max_object_name_len`, 2048). */
export const OBJECT_NAME_BYTES_MAX = 2048;

/** Largest object locator key in bytes (same as the name: the key replaces the name in hashing). */
export const OBJECT_KEY_BYTES_MAX = 2048;

/** Largest object namespace in bytes (Ceph `osd_max_object_namespace_len`, 256). */
export const OBJECT_NAMESPACE_BYTES_MAX = 256;

/** Largest collection id string in bytes ("18446744073709551615.ffffffffs127_TEMP" fits). */
export const COLLECTION_ID_BYTES_MAX = 64;

/** Largest `bits` of a collection (a PG seed is 32 bits). */
export const COLLECTION_BITS_MAX = 32;

/** Most collections one store holds (a large OSD holds a few hundred PGs, times shards). */
export const COLLECTION_COUNT_MAX = 65_536;

/** Largest xattr name in bytes (`get_max_attr_name_length`; Ceph's default is 100..255). */
export const XATTR_NAME_BYTES_MAX = 255;

/** Largest single xattr value in bytes (`XattrTest` uses 10 000+). */
export const XATTR_VALUE_BYTES_MAX = 65_536;

/** Most xattrs per object (the BlueStore spill-over tests use 1024). */
export const XATTR_COUNT_PER_OBJECT_MAX = 8192;

/** Total bytes (names plus values) of all xattrs of one object (1024 x 4 KiB must fit). */
export const XATTR_BYTES_PER_OBJECT_MAX = 8 * 1024 * 1024;

/** Largest omap key in bytes (RGW bucket-index keys carry whole object names plus a prefix). */
export const OMAP_KEY_BYTES_MAX = 8192;

/** Largest omap value in bytes ("values may be large (MBs)"). */
export const OMAP_VALUE_BYTES_MAX = 16 * 1024 * 1024;

/** Largest omap header in bytes. */
export const OMAP_HEADER_BYTES_MAX = 16 * 1024 * 1024;

/** Most ops in one Transaction (Ceph has no limit; ours bounds validation work and records). */
export const TRANSACTION_OPS_MAX = 65_536;

/**
 * Most payload bytes (data, names, keys, values) in one Transaction, and therefore in one
 * `queueTransactions` vector. Ceph's `osd_max_write_size` is 90 MiB; a transaction carrying a
 * full 4 MiB object write plus metadata is typical.
 */
export const TRANSACTION_BYTES_MAX = 128 * 1024 * 1024;

/** Most transactions in one `queueTransactions` vector. */
export const TRANSACTIONS_PER_BATCH_MAX = 1024;

/** Most objects one `listObjects` call returns (Ceph's ideal page is 64). */
export const LIST_OBJECTS_MAX = 65_536;

/** Default page of `listObjects` when `max` is not given (`get_ideal_list_max`). */
export const LIST_OBJECTS_DEFAULT = 64;

/** Largest single read in bytes; a longer request is clamped to the object size first. */
export const READ_BYTES_MAX = 256 * 1024 * 1024;

/** Block size reported by `stat` (`st_blksize`), as BlueStore and MemStore report it. */
export const STAT_BLOCK_SIZE_BYTES = 4096;

assert(OBJECT_SIZE_BYTES_MAX < 2 ** 32, 'object sizes fit in u32 arithmetic');
assert(XATTR_COUNT_PER_OBJECT_MAX * XATTR_NAME_BYTES_MAX < XATTR_BYTES_PER_OBJECT_MAX * 2,
  'xattr count and byte limits are of the same scale');
assert(TRANSACTION_BYTES_MAX <= 2 ** 31 - 1, 'transaction byte counts fit in i32');
assert(LIST_OBJECTS_DEFAULT <= LIST_OBJECTS_MAX, 'default list page within max');
