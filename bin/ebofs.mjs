#!/usr/bin/env node
// The `ebofs` command line: registers tsx (the sources are TypeScript, run without a build
// step) and hands the arguments to tools/cli.ts. The exit status is set, not forced, so
// stdout and stderr are flushed before the process ends.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../tools/cli.ts');
process.exitCode = await main(process.argv.slice(2));
