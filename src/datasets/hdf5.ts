/**
 * HDF5 datasets through h5wasm (the HDF5 library compiled to WebAssembly, with its gzip filter).
 * h5wasm ships as an ES module only (src/datasets/esm.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { importEsm } from './esm';
import type { NdArray, NumericArray } from './npy';
import { DatasetError } from './types';

interface H5Dataset {
  readonly shape: number[] | null;
  readonly dtype: unknown;
  readonly value: unknown;
}
interface H5File {
  get(name: string): unknown;
  keys(): string[];
  close(): void;
}
interface H5Module {
  readonly ready: Promise<unknown>;
  readonly File: new (name: string, mode: string) => H5File;
  readonly Dataset: new (...args: never[]) => H5Dataset;
}

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** The HDF5 superblock signature sits at byte 0, 512, 1024, 2048, … (a user block before it). */
function hasHdf5Signature(bytes: Uint8Array): boolean {
  for (let at = 0; at + 8 <= bytes.length; at = at === 0 ? 512 : at * 2) {
    if (SIGNATURE.every((b, i) => bytes[at + i] === b)) return true;
  }
  return false;
}

/** The named datasets of an HDF5 file. */
export async function readHdf5(file: string, names: readonly string[]): Promise<Record<string, NdArray>> {
  const h5 = await importEsm<H5Module>('h5wasm', './node');
  await h5.ready;
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (error) {
    throw new DatasetError(file, `cannot be read (${(error as Error).message})`);
  }
  if (!hasHdf5Signature(bytes)) throw new DatasetError(file, 'is not a readable HDF5 file (no HDF5 signature at byte 0, 512, 1024, …)');
  // h5wasm's Node build reads the real file system (NODERAWFS): open the file where it is.
  const name = path.resolve(file);
  let h: H5File | null = null;
  try {
    try {
      h = new h5.File(name, 'r');
      if (Number((h as unknown as { file_id: bigint | number }).file_id) < 0) throw new Error('HDF5 could not open it');
    } catch (error) {
      throw new DatasetError(file, `is not a readable HDF5 file (${(error as Error).message})`);
    }
    const out: Record<string, NdArray> = {};
    for (const key of names) {
      let dataset: unknown;
      try {
        dataset = h.get(key);
      } catch (error) {
        throw new DatasetError(file, `is not a readable HDF5 file (${(error as Error).message})`);
      }
      if (!(dataset instanceof h5.Dataset)) throw new DatasetError(file, `has no dataset '${key}' (it holds: ${h.keys().join(', ')})`);
      const values = dataset.value;
      if (!ArrayBuffer.isView(values)) throw new DatasetError(file, `dataset '${key}' is not numeric`);
      out[key] = { values: values as NumericArray, shape: dataset.shape ?? [] };
    }
    return out;
  } finally {
    h?.close();
  }
}
