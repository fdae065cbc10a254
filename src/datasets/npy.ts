/**
 * NumPy arrays: `.npy` (format 1.0–3.0, little-endian or single-byte dtypes, C order) and `.npz`
 * (a zip of `.npy` members, stored or deflated, ZIP64 headers as numpy ≥ 1.24 writes them) read
 * through fflate. Errors are {@link DatasetError}s naming the file.
 */
import * as fs from 'node:fs';

import { unzipSync } from 'fflate';

import { DatasetError } from './types';

/** A numeric typed array as the file holds it. */
export type NumericArray = Float32Array | Float64Array | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array;

/** An array read from a .npy / .npz / HDF5 file: C-order values and the shape. */
export interface NdArray {
  readonly values: NumericArray | BigInt64Array | BigUint64Array;
  readonly shape: readonly number[];
}

const DTYPES: Readonly<Record<string, { bytes: number; make: (b: ArrayBuffer, offset: number, n: number) => NdArray['values'] }>> = {
  '<f4': { bytes: 4, make: (b, o, n) => new Float32Array(b, o, n) },
  '<f8': { bytes: 8, make: (b, o, n) => new Float64Array(b, o, n) },
  '|u1': { bytes: 1, make: (b, o, n) => new Uint8Array(b, o, n) },
  '|i1': { bytes: 1, make: (b, o, n) => new Int8Array(b, o, n) },
  '|b1': { bytes: 1, make: (b, o, n) => new Uint8Array(b, o, n) },
  '<u2': { bytes: 2, make: (b, o, n) => new Uint16Array(b, o, n) },
  '<i2': { bytes: 2, make: (b, o, n) => new Int16Array(b, o, n) },
  '<u4': { bytes: 4, make: (b, o, n) => new Uint32Array(b, o, n) },
  '<i4': { bytes: 4, make: (b, o, n) => new Int32Array(b, o, n) },
  '<i8': { bytes: 8, make: (b, o, n) => new BigInt64Array(b, o, n) },
  '<u8': { bytes: 8, make: (b, o, n) => new BigUint64Array(b, o, n) },
};

function headerField(header: string, key: string, file: string): string {
  const match = new RegExp(`'${key}'\\s*:\\s*('[^']*'|True|False|\\([^)]*\\))`).exec(header);
  if (!match) throw new DatasetError(file, `its .npy header has no '${key}' (${header.trim()})`);
  return match[1];
}

/** Parses one .npy file's bytes (`file` names it in errors, e.g. `x.npz:image.npy`). */
export function parseNpy(bytes: Uint8Array, file: string): NdArray {
  if (bytes.length < 10 || bytes[0] !== 0x93 || String.fromCharCode(...bytes.subarray(1, 6)) !== 'NUMPY') {
    throw new DatasetError(file, 'is not a .npy array (no \\x93NUMPY magic)');
  }
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [headerLength, start] = major === 1 ? [view.getUint16(8, true), 10] : [view.getUint32(8, true), 12];
  const header = Buffer.from(bytes.subarray(start, start + headerLength)).toString('latin1');
  const descr = headerField(header, 'descr', file).replace(/'/g, '');
  const dtype = DTYPES[descr];
  if (!dtype) throw new DatasetError(file, `has dtype '${descr}'; expected one of ${Object.keys(DTYPES).join(', ')}`);
  if (headerField(header, 'fortran_order', file) !== 'False') throw new DatasetError(file, 'is in Fortran order; expected C order');
  const shape = headerField(header, 'shape', file)
    .replace(/[()\s]/g, '')
    .split(',')
    .filter((s) => s !== '')
    .map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const offset = start + headerLength;
  if (bytes.length - offset < count * dtype.bytes) {
    throw new DatasetError(file, `holds ${bytes.length - offset} bytes of data; shape (${shape.join(', ')}) of '${descr}' needs ${count * dtype.bytes}`);
  }
  // A copy, aligned for the typed array.
  const data = bytes.slice(offset, offset + count * dtype.bytes);
  return { values: dtype.make(data.buffer, 0, count), shape };
}

/** Every array of an .npz file, by name (without `.npy`). */
export function readNpz(file: string): Record<string, NdArray> {
  let members: Record<string, Uint8Array>;
  try {
    members = unzipSync(new Uint8Array(fs.readFileSync(file)));
  } catch (error) {
    throw new DatasetError(file, `is not a readable .npz (zip) file (${(error as Error).message})`);
  }
  const arrays: Record<string, NdArray> = {};
  for (const [name, bytes] of Object.entries(members)) {
    if (name.endsWith('.npy')) arrays[name.slice(0, -4)] = parseNpy(bytes, `${file}:${name}`);
  }
  return arrays;
}
