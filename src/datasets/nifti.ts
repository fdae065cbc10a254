/** NIfTI-1/2 volumes (.nii, .nii.gz) through nifti-reader-js; errors name the file. */
import * as fs from 'node:fs';

import { importEsm } from './esm';
import type { NdArray, NumericArray } from './npy';
import { DatasetError } from './types';

interface NiftiHeader {
  readonly dims: number[];
  readonly datatypeCode: number;
  readonly littleEndian: boolean;
  readonly scl_slope: number;
  readonly scl_inter: number;
}
interface NiftiReader {
  isCompressed(data: ArrayBuffer): boolean;
  decompress(data: ArrayBuffer): ArrayBuffer;
  isNIFTI(data: ArrayBuffer): boolean;
  readHeader(data: ArrayBuffer): NiftiHeader;
  readImage(header: NiftiHeader, data: ArrayBuffer): ArrayBuffer;
}

const TYPES: Readonly<Record<number, { name: string; make: (b: ArrayBuffer) => NumericArray }>> = {
  2: { name: 'uint8', make: (b) => new Uint8Array(b) },
  4: { name: 'int16', make: (b) => new Int16Array(b) },
  8: { name: 'int32', make: (b) => new Int32Array(b) },
  16: { name: 'float32', make: (b) => new Float32Array(b) },
  64: { name: 'float64', make: (b) => new Float64Array(b) },
  256: { name: 'int8', make: (b) => new Int8Array(b) },
  512: { name: 'uint16', make: (b) => new Uint16Array(b) },
  768: { name: 'uint32', make: (b) => new Uint32Array(b) },
};

/**
 * A 3-d volume as [D, H, W] = NIfTI's (z, y, x) (x varies fastest in the file, so slice z is
 * row-major y × x), with scl_slope / scl_inter applied when the slope is set.
 */
export async function readNifti(file: string): Promise<NdArray> {
  const nifti = await importEsm<NiftiReader>('nifti-reader-js');
  let data: ArrayBuffer;
  try {
    const bytes = fs.readFileSync(file);
    data = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
    if (nifti.isCompressed(data)) data = nifti.decompress(data);
  } catch (error) {
    throw new DatasetError(file, `cannot be read or decompressed (${(error as Error).message})`);
  }
  if (!nifti.isNIFTI(data)) throw new DatasetError(file, 'is not a NIfTI-1 or NIfTI-2 file');
  const header = nifti.readHeader(data);
  const type = TYPES[header.datatypeCode];
  if (!type) throw new DatasetError(file, `has NIfTI datatype ${header.datatypeCode}; expected one of ${Object.values(TYPES).map((t) => t.name).join(', ')}`);
  if (!header.littleEndian) throw new DatasetError(file, 'is big-endian; expected little-endian');
  const [ndim, nx, ny, nz = 1] = header.dims;
  if (ndim < 2 || ndim > 3) throw new DatasetError(file, `has ${ndim} dimensions; expected a 2-d or 3-d volume`);
  const raw = type.make(nifti.readImage(header, data).slice(0));
  const count = nx * ny * (ndim === 3 ? nz : 1);
  if (raw.length < count) throw new DatasetError(file, `holds ${raw.length} voxels; its header says ${count}`);
  const values = raw.subarray(0, count);
  if (header.scl_slope && (header.scl_slope !== 1 || header.scl_inter !== 0)) {
    const scaled = Float32Array.from(values, (v) => v * header.scl_slope + header.scl_inter);
    return { values: scaled, shape: [ndim === 3 ? nz : 1, ny, nx] };
  }
  return { values, shape: [ndim === 3 ? nz : 1, ny, nx] };
}
