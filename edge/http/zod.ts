/**
 * @module The validation library of the Worker: `zod/mini` (the tree-shakable build, with functional
 * checks such as `z.string().check(z.maxLength(64))`) and zod's English messages, which `zod/mini`
 * does not load by itself. Every schema imports it as `import * as z from '…/http/zod'`, so the
 * messages are set before any parse. Import it as a namespace and only read properties of it
 * (`z.string`): passing the namespace around as a value would make esbuild keep all of zod (its
 * 40 locales too). The full `zod` build was about half of the deployed bundle (docs/benchmarks.md,
 * "Bundle and startup").
 */
import { en } from 'zod/locales';
import { config } from 'zod/mini';

config(en());

export * from 'zod/mini';
