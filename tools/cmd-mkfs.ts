/**
 * tools/cmd-mkfs.ts: `ebofs mkfs <path>` — creates an empty store in a file (or on a block
 * device), then mounts it once to print the geometry it really got. An existing non-empty
 * file is refused unless `--force`, so a typo cannot wipe a store.
 */
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { EbofsError, mkfs, type EbofsOptions } from '../engine/index.js';
import { type Command, flagOption, sizeOption } from './command.js';
import { EXIT_OK, UsageError, openStore } from './io.js';
import { formatFacts, storeFacts } from './store-facts.js';

const USAGE = `usage: ebofs mkfs <path> [options]

Creates an empty ebofs store at <path> (a file, created sparse, or a block device).

options:
  --size <size>          device size (default: 1G for a new file, else the device's size)
  --journal <size>       journal ring size (default: size/16, between 1M and 256M)
  --alloc-unit <size>    allocation unit, like bluestore_min_alloc_size: a power of two,
                         4K..1M (default: 4K)
  --csum-block <size>    checksum block, like bluestore_csum_block_size: a power of two,
                         4K..1M, at most 64 per allocation unit (default: 4K)
  --stripe-unit <size>   stripe unit for stripe-aware allocation (default: 4K; a multiple
                         of the larger of --alloc-unit and --csum-block)
  --stripe-width <n>     data disks per stripe (default: 1; needs --stripe-unit)
  --scrub-freed          zero freed space before it is reused (deleted data never lingers
                         in free space; costs a write of every freed byte)
  --force                overwrite an existing non-empty file
  -h, --help             show this help

Sizes take K, M, G, T suffixes (binary: 1K = 1024), e.g. 64M, 1G.
`;

async function nonEmpty(path: string): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  return info !== undefined && (info.isBlockDevice() || info.size > 0);
}

export const mkfsCommand: Command = {
  name: 'mkfs',
  summary: 'create an empty store in a file or on a block device',
  usage: USAGE,
  positionalNames: ['<path>'],
  options: {
    size: { type: 'string' }, journal: { type: 'string' }, 'stripe-unit': { type: 'string' },
    'alloc-unit': { type: 'string' }, 'csum-block': { type: 'string' },
    'stripe-width': { type: 'string' }, force: { type: 'boolean' }, 'scrub-freed': { type: 'boolean' },
  },
  async run(args, io) {
    const path = args.positionals[0]!;
    const options: EbofsOptions = {};
    const size = sizeOption(args, 'size', USAGE);
    const journal = sizeOption(args, 'journal', USAGE);
    const stripeUnit = sizeOption(args, 'stripe-unit', USAGE);
    const allocUnit = sizeOption(args, 'alloc-unit', USAGE);
    const csumBlock = sizeOption(args, 'csum-block', USAGE);
    const widthText = args.values['stripe-width'];
    if (size !== undefined) options.sizeBytes = size;
    if (journal !== undefined) options.journalBytes = journal;
    if (stripeUnit !== undefined) options.stripeUnitBytes = stripeUnit;
    if (allocUnit !== undefined) options.allocUnitBytes = allocUnit;
    if (csumBlock !== undefined) options.csumBlockBytes = csumBlock;
    if (typeof widthText === 'string') {
      const width = Number(widthText);
      if (!Number.isInteger(width) || width < 1) {
        throw new UsageError(`--stripe-width: expected a positive integer, got ${JSON.stringify(widthText)}`, USAGE);
      }
      if (stripeUnit === undefined) throw new UsageError('--stripe-width needs --stripe-unit', USAGE);
      options.stripeWidth = width;
    }
    if (flagOption(args, 'scrub-freed')) options.scrubFreed = true;
    if (!flagOption(args, 'force') && await nonEmpty(path)) {
      throw new EbofsError('EEXIST', `${path} exists and is not empty; pass --force to overwrite it`);
    }
    await mkdir(dirname(path), { recursive: true });
    await mkfs(path, options);
    const store = await openStore(path);
    try {
      io.out(`ebofs mkfs: created ${path}\n${formatFacts(await storeFacts(store, path))}`);
    } finally {
      await store.close();
    }
    return EXIT_OK;
  },
};
