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
  readonly pixDims: number[];
  readonly xyzt_units: number;
  readonly qform_code: number;
  readonly sform_code: number;
  readonly quatern_b: number;
  readonly quatern_c: number;
  readonly quatern_d: number;
  readonly qoffset_x: number;
  readonly qoffset_y: number;
  readonly qoffset_z: number;
  readonly affine: number[][];
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

/** Where a volume lies in space: the header fields a label volume written for it copies. */
export interface NiftiGeometry {
  /** pixdim[0..7]: pixdim[0] is qfac (±1), pixdim[1..3] the voxel size. */
  readonly pixDims: readonly number[];
  readonly xyztUnits: number;
  readonly qformCode: number;
  readonly sformCode: number;
  /** quatern_b, quatern_c, quatern_d. */
  readonly quaternion: readonly [number, number, number];
  /** qoffset_x, qoffset_y, qoffset_z. */
  readonly qoffset: readonly [number, number, number];
  /** srow_x, srow_y, srow_z (the sform's rows). */
  readonly srow: readonly [readonly number[], readonly number[], readonly number[]];
}

async function niftiHeaderAndData(file: string): Promise<{ nifti: NiftiReader; header: NiftiHeader; data: ArrayBuffer }> {
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
  return { nifti, header: nifti.readHeader(data), data };
}

/** The geometry of a NIfTI file (its voxel size, qform and sform). */
export async function readNiftiGeometry(file: string): Promise<NiftiGeometry> {
  const { header: h } = await niftiHeaderAndData(file);
  return {
    pixDims: [...h.pixDims],
    xyztUnits: h.xyzt_units,
    qformCode: h.qform_code,
    sformCode: h.sform_code,
    quaternion: [h.quatern_b, h.quatern_c, h.quatern_d],
    qoffset: [h.qoffset_x, h.qoffset_y, h.qoffset_z],
    srow: [[...h.affine[0]], [...h.affine[1]], [...h.affine[2]]],
  };
}

const NIFTI1_HEADER_BYTES = 348;
const NIFTI1_DATA_OFFSET = 352; // the header, then 4 bytes of "no extension"

/**
 * A NIfTI-1 single-file volume (.nii bytes) of labels [D, H, W] (x = W fastest, as readNifti
 * reads them): uint8, or uint16 when `labels` is a Uint16Array; no intensity scaling; the
 * geometry copied from `geometry` (the image it was predicted from), else unit voxels and no
 * transform. Gzip the result for .nii.gz.
 */
export function encodeNiftiLabels(labels: Uint8Array | Uint16Array, shape: readonly [number, number, number], geometry?: NiftiGeometry): Uint8Array {
  const [d, h, w] = shape;
  if (labels.length !== d * h * w) throw new RangeError(`Expected ${d * h * w} labels for shape [${shape.join(', ')}] but received ${labels.length}`);
  const bytesPerVoxel = labels instanceof Uint16Array ? 2 : 1;
  const out = new Uint8Array(NIFTI1_DATA_OFFSET + labels.length * bytesPerVoxel);
  const view = new DataView(out.buffer);
  view.setInt32(0, NIFTI1_HEADER_BYTES, true); // sizeof_hdr
  out[38] = 'r'.charCodeAt(0); // regular
  [3, w, h, d, 1, 1, 1, 1].forEach((v, i) => view.setInt16(40 + 2 * i, v, true)); // dim
  view.setInt16(70, bytesPerVoxel === 2 ? 512 : 2, true); // datatype: uint16 / uint8
  view.setInt16(72, 8 * bytesPerVoxel, true); // bitpix
  const pixDims = geometry?.pixDims ?? [1, 1, 1, 1, 0, 0, 0, 0];
  for (let i = 0; i < 8; i++) view.setFloat32(76 + 4 * i, pixDims[i] ?? 0, true);
  view.setFloat32(108, NIFTI1_DATA_OFFSET, true); // vox_offset
  view.setFloat32(112, 0, true); // scl_slope 0: the values are the labels
  out[123] = geometry?.xyztUnits ?? 0;
  let max = 0;
  for (const v of labels) max = v > max ? v : max;
  view.setFloat32(124, max, true); // cal_max
  const description = 'segloss predict labels';
  for (let i = 0; i < description.length; i++) out[148 + i] = description.charCodeAt(i);
  view.setInt16(252, geometry?.qformCode ?? 0, true);
  view.setInt16(254, geometry?.sformCode ?? 0, true);
  (geometry?.quaternion ?? [0, 0, 0]).forEach((v, i) => view.setFloat32(256 + 4 * i, v, true));
  (geometry?.qoffset ?? [0, 0, 0]).forEach((v, i) => view.setFloat32(268 + 4 * i, v, true));
  const srow = geometry?.srow ?? [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]];
  srow.forEach((row, r) => row.forEach((v, c) => view.setFloat32(280 + 16 * r + 4 * c, v, true)));
  out.set([0x6e, 0x2b, 0x31, 0], 344); // magic "n+1\0"
  const data = new Uint8Array(labels.buffer, labels.byteOffset, labels.byteLength);
  if (bytesPerVoxel === 2 && new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('segloss internal error: a big-endian host');
  out.set(data, NIFTI1_DATA_OFFSET);
  return out;
}

/**
 * A 3-d volume as [D, H, W] = NIfTI's (z, y, x) (x varies fastest in the file, so slice z is
 * row-major y × x), with scl_slope / scl_inter applied when the slope is set.
 */
export async function readNifti(file: string): Promise<NdArray> {
  const { nifti, header, data } = await niftiHeaderAndData(file);
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
