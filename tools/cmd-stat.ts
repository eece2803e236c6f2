/**
 * tools/cmd-stat.ts: `ebofs stat <path>` — superblock-level facts: geometry, checkpoint
 * generation, space, collections and object counts, as text or `--json`.
 */
import { type Command, flagOption } from './command.js';
import { EXIT_OK, openStore } from './io.js';
import { formatFacts, storeFacts } from './store-facts.js';

const USAGE = `usage: ebofs stat <path> [--json]

Mounts the store (replaying its journal) and prints its geometry, checkpoint generation,
space figures (statfs), and every collection with its bits and object count.

options:
  --json       print one JSON object instead of text
  -h, --help   show this help
`;

export const statCommand: Command = {
  name: 'stat',
  summary: 'print superblock facts, space, collections and object counts',
  usage: USAGE,
  positionalNames: ['<path>'],
  options: { json: { type: 'boolean' } },
  async run(args, io) {
    const path = args.positionals[0]!;
    const store = await openStore(path);
    try {
      const facts = await storeFacts(store, path);
      io.out(flagOption(args, 'json') ? `${JSON.stringify(facts, null, 2)}\n` : formatFacts(facts));
    } finally {
      await store.close();
    }
    return EXIT_OK;
  },
};
