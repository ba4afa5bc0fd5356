/**
 * @module Builds the extension for one browser (`--mode chrome|firefox`) into dist/extension/<browser>,
 * with the manifest generated from extension/manifest.ts. One entry per context: background,
 * popup, options, prompt. Readable output: no minification.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { manifest, type Browser } from './manifest';

const here = fileURLToPath(new URL('.', import.meta.url));

const emitManifest = (browser: Browser): Plugin => ({
  name: 'stepgate-manifest',
  generateBundle() {
    this.emitFile({ type: 'asset', fileName: 'manifest.json', source: `${JSON.stringify(manifest(browser), null, 2)}\n` });
  },
});

export default defineConfig(({ mode }) => {
  const browser: Browser = mode === 'firefox' ? 'firefox' : 'chrome';
  return {
    root: `${here}src`,
    base: '',
    logLevel: 'warn',
    plugins: [emitManifest(browser)],
    build: {
      outDir: `${here}../dist/extension/${browser}`,
      emptyOutDir: true,
      minify: false,
      target: browser === 'firefox' ? 'firefox140' : 'chrome137',
      modulePreload: false,
      rollupOptions: {
        input: {
          background: `${here}src/background/index.ts`,
          popup: `${here}src/popup/index.html`,
          options: `${here}src/options/index.html`,
          prompt: `${here}src/prompt/index.html`,
        },
        output: {
          entryFileNames: '[name].js',
          chunkFileNames: 'chunks/[name].js',
          assetFileNames: (a) => (a.names.some((n) => n.endsWith('.css')) ? 'assets/pages.css' : 'assets/[name][extname]'),
        },
      },
    },
  };
});
