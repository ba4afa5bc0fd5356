/** The extension's icons: both manifests (Chrome and Firefox) name them, and the build draws each as a PNG of its size. */
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { icons, iconPixels } from '../../extension/build/icons';
import { ICON_SIZES, manifest } from '../../extension/manifest';

type IconManifest = { icons: Record<string, string>; action: { default_icon: Record<string, string> } };

describe('the extension icons', () => {
  it.each(['chrome', 'firefox'] as const)('the %s manifest names 16/32/48/128 and the toolbar button’s 16/32', (browser) => {
    const m = manifest(browser) as IconManifest;
    expect(m.icons).toEqual({
      '16': 'icons/icon-16.png',
      '32': 'icons/icon-32.png',
      '48': 'icons/icon-48.png',
      '128': 'icons/icon-128.png',
    });
    expect(m.action.default_icon).toEqual({ '16': 'icons/icon-16.png', '32': 'icons/icon-32.png' });
  });

  it('draws every named icon as an RGBA PNG of its size whose pixels are what iconPixels drew', () => {
    const built = icons();
    expect(built.map((i) => i.fileName)).toEqual(ICON_SIZES.map((s) => `icons/icon-${s}.png`));
    for (const [n, { source }] of built.entries()) {
      const size = ICON_SIZES[n]!;
      const png = Buffer.from(source);
      expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
      expect([png.readUInt32BE(16), png.readUInt32BE(20), png[24], png[25]]).toEqual([size, size, 8, 6]);
      const at = png.indexOf('IDAT', 0, 'latin1');
      const raw = inflateSync(png.subarray(at + 4, at + 4 + png.readUInt32BE(at - 4)));
      const rows = Array.from({ length: size }, (_, y) => raw.subarray(y * (size * 4 + 1) + 1, (y + 1) * (size * 4 + 1)));
      expect(Buffer.concat(rows)).toEqual(Buffer.from(iconPixels(size)));
    }
  });

  it('draws the 16 px toolbar icon on whole pixels: blue square, white steps, nothing in between inside', () => {
    const px = iconPixels(16);
    const colours = new Set<string>();
    // Inside the rounded corners every pixel is either the blue or the white, so the small icon is crisp.
    for (let y = 2; y < 14; y++)
      for (let x = 2; x < 14; x++) colours.add([...px.subarray((y * 16 + x) * 4, (y * 16 + x) * 4 + 4)].join(','));
    expect([...colours].sort()).toEqual(['11,87,208,255', '255,255,255,255']);
  });
});
