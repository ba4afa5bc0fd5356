#!/usr/bin/env node
// The `stepgate` command: loads the TypeScript CLI through tsx so the CLI shares the edge's code.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
