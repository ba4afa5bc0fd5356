/**
 * @module The extension's icons, drawn at build time: no binary files in the repository, nothing
 * downloaded. A blue rounded square with three white steps rising to the right ("step up"), drawn
 * with 4×4 supersampling and written as RGBA PNGs with node:zlib. Runs in Node (the Vite build).
 */
import { deflateSync } from 'node:zlib';
import { ICON_SIZES, iconPath } from '../manifest';

const BLUE = [0x0b, 0x57, 0xd0] as const;
const WHITE = [0xff, 0xff, 0xff] as const;

/** Inside a rounded square filling [m, 1-m]² with corner radius r (unit coordinates). */
function inRoundedSquare(x: number, y: number, m: number, r: number): boolean {
  if (x < m || y < m || x > 1 - m || y > 1 - m) return false;
  const cx = Math.min(Math.max(x, m + r), 1 - m - r);
  const cy = Math.min(Math.max(y, m + r), 1 - m - r);
  return (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
}

/**
 * Three steps rising to the right. Every edge is a multiple of 1/16, so the 16 px toolbar icon is
 * drawn on whole pixels (crisp, not smeared) and the larger sizes, multiples of 16, too.
 */
function inSteps(x: number, y: number): boolean {
  const left = 4 / 16;
  const width = 3 / 16;
  const bottom = 12 / 16;
  if (x < left || x >= left + 3 * width || y >= bottom) return false;
  const step = Math.floor((x - left) / width);
  const top = [9 / 16, 6 / 16, 3 / 16][step]!;
  return y >= top;
}

/** The RGBA pixels of the icon at `size` px. The store size keeps a margin, as the stores ask. */
export function iconPixels(size: number): Uint8Array {
  const margin = size >= 128 ? 1 / 16 : 0;
  const radius = 0.2;
  const out = new Uint8Array(size * size * 4);
  const n = 4;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let bg = 0;
      let fg = 0;
      for (let sy = 0; sy < n; sy++) {
        for (let sx = 0; sx < n; sx++) {
          const x = (px + (sx + 0.5) / n) / size;
          const y = (py + (sy + 0.5) / n) / size;
          if (!inRoundedSquare(x, y, margin, radius)) continue;
          bg++;
          // The steps are drawn inside the square's own box, so they keep their place with a margin.
          if (inSteps((x - margin) / (1 - 2 * margin), (y - margin) / (1 - 2 * margin))) fg++;
        }
      }
      const i = (py * size + px) * 4;
      const t = bg ? fg / bg : 0;
      for (let c = 0; c < 3; c++) out[i + c] = Math.round(BLUE[c]! * (1 - t) + WHITE[c]! * t);
      out[i + 3] = Math.round((bg / (n * n)) * 255);
    }
  }
  return out;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** A PNG (8-bit RGBA, no interlace) of `rgba`, `size`×`size`. */
export function encodePng(size: number, rgba: Uint8Array): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  // Each row starts with filter type 0 (none).
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) raw.set(rgba.subarray(y * size * 4, (y + 1) * size * 4), y * (size * 4 + 1) + 1);
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array())]);
}

/** Every icon of the build: path → PNG bytes. */
export const icons = (): { fileName: string; source: Uint8Array }[] =>
  ICON_SIZES.map((size) => ({ fileName: iconPath(size), source: encodePng(size, iconPixels(size)) }));
