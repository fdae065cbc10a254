/**
 * PNG through fast-png: 8- and 16-bit, grey, grey + alpha, RGB(A) and palette images (palette
 * images give their indices, as label masks need). Errors name the file.
 */
import * as fs from 'node:fs';

import { importEsm } from './esm';
import { DatasetError } from './types';

interface FastPng {
  decode(data: Uint8Array): { width: number; height: number; depth: number; channels: number; data: Uint8Array | Uint16Array; palette?: unknown[] };
  encode(image: { width: number; height: number; data: Uint8Array | Uint16Array; channels: number; depth: number }): Uint8Array;
}

/** A decoded PNG: `data` [H, W, channels] (palette images: indices, 1 channel). */
export interface PngImage {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly depth: number;
  readonly palette: boolean;
  readonly data: Uint8Array | Uint16Array;
}

export async function readPng(file: string): Promise<PngImage> {
  const png = await importEsm<FastPng>('fast-png');
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (error) {
    throw new DatasetError(file, `cannot be read (${(error as Error).message})`);
  }
  try {
    const d = png.decode(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length));
    return { width: d.width, height: d.height, channels: d.channels, depth: d.depth, palette: d.palette !== undefined, data: d.data };
  } catch (error) {
    throw new DatasetError(file, `is not a readable PNG (${(error as Error).message})`);
  }
}

/** An 8-bit RGB PNG's bytes. */
export async function encodeRgbPng(width: number, height: number, rgb: Uint8Array): Promise<Uint8Array> {
  const png = await importEsm<FastPng>('fast-png');
  return png.encode({ width, height, data: rgb, channels: 3, depth: 8 });
}

/** A single-channel label PNG's bytes: 8-bit when every label is below 256, else 16-bit. */
export async function encodeLabelPng(width: number, height: number, labels: Uint8Array | Uint16Array): Promise<Uint8Array> {
  const png = await importEsm<FastPng>('fast-png');
  const wide = labels.some((v) => v > 255);
  return png.encode({ width, height, data: wide ? Uint16Array.from(labels) : Uint8Array.from(labels), channels: 1, depth: wide ? 16 : 8 });
}
