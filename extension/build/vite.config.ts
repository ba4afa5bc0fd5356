/**
 * @module Builds the extension for one browser (`--mode chrome|firefox`) into dist/extension/<browser>,
 * with the manifest generated from extension/manifest.ts and the icons drawn by icons.ts. One entry per context: background,
 * popup, options, prompt. Readable output: no minification. Runs in Node (`npm run build:extension`).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { iconPath, manifest, type Browser } from '../manifest';
import { icons } from './icons';

/** The extension's sources, extension/src/. */
const src = fileURLToPath(new URL('../src/', import.meta.url));
const dist = fileURLToPath(new URL('../../dist/extension/', import.meta.url));

const emitManifest = (browser: Browser): Plugin => ({
  name: 'stepgate-manifest',
  generateBundle() {
    this.emitFile({ type: 'asset', fileName: 'manifest.json', source: `${JSON.stringify(manifest(browser), null, 2)}\n` });
    for (const icon of icons()) this.emitFile({ type: 'asset', ...icon });
  },
  // Every page (popup, options, prompt window) shows the icon in its tab or window title bar. Added
  // after Vite's own HTML processing, since the icons exist only in the bundle.
  transformIndexHtml: {
    order: 'post',
    handler: () => [{ tag: 'link', attrs: { rel: 'icon', type: 'image/png', href: `../${iconPath(32)}` }, injectTo: 'head' }],
  },
});

export default defineConfig(({ mode }) => {
  const browser: Browser = mode === 'firefox' ? 'firefox' : 'chrome';
  return {
    root: src,
    base: '',
    logLevel: 'warn',
    plugins: [emitManifest(browser)],
    build: {
      outDir: `${dist}${browser}`,
      emptyOutDir: true,
      minify: false,
      target: browser === 'firefox' ? 'firefox140' : 'chrome137',
      modulePreload: false,
      rollupOptions: {
        input: {
          background: `${src}background/index.ts`,
          popup: `${src}popup/index.html`,
          options: `${src}options/index.html`,
          prompt: `${src}prompt/index.html`,
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
