// The dataset readers (src/datasets/) on files written by the real tools (test/fixtures/datasets/,
// made with Debian's numpy 1.24 + h5py 3.7, PIL 9.4 and nibabel 5.0; provenance in
// test/fixtures/README.md): every array equals what those tools read back (SHA-256 of the bytes
// in expected.json), ZIP64 npz members, HDF5 with and without gzip, 8/16-bit and palette PNGs,
// .nii and .nii.gz; each damaged file is a DatasetError naming it; `segloss check`.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { gzipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';

import { DATASET_ERROR, DatasetError, LABEL_TO_TRAIN_ID, loadCityscapes, loadDataset, loadFolder, loadSynapse } from '../src/datasets/index';
import { readHdf5 } from '../src/datasets/hdf5';
import { encodeNiftiLabels, readNifti, readNiftiGeometry } from '../src/datasets/nifti';
import { readNpz } from '../src/datasets/npy';
import { readPng } from '../src/datasets/png';
import { runCli } from './helpers/cli';
import { tempFolder } from './helpers/trainer';

const fixtures = path.join(__dirname, 'fixtures', 'datasets');
const expected = JSON.parse(fs.readFileSync(path.join(fixtures, 'expected.json'), 'utf8')) as Record<string, Record<string, Record<string, unknown>>>;
const folder = tempFolder('segloss-datasets-');
afterAll(() => fs.rmSync(folder, { recursive: true, force: true }));

function sha256(a: ArrayBufferView): string {
  return createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');
}

/** A copy of a fixture tree to damage. */
function copyOf(name: string): string {
  const dir = path.join(folder, `${name}-${Math.random().toString(36).slice(2)}`);
  fs.cpSync(path.join(fixtures, name), dir, { recursive: true });
  return dir;
}

async function errorOf(promise: Promise<unknown>): Promise<DatasetError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(DatasetError);
    expect((error as DatasetError).code).toBe(DATASET_ERROR);
    return error as DatasetError;
  }
  throw new Error('expected a DatasetError');
}

describe('Synapse (TransUNet layout)', () => {
  const dir = path.join(fixtures, 'synapse-tiny');

  it('npz members with ZIP64 local headers (numpy 1.24 np.savez) read as numpy reads them', () => {
    const bytes = fs.readFileSync(path.join(dir, 'train_npz', 'case0005_slice000.npz'));
    expect(bytes.readUInt16LE(30 + 9)).toBe(0x0001); // the ZIP64 extra field after 'image.npy'
    const arrays = readNpz(path.join(dir, 'train_npz', 'case0005_slice000.npz'));
    expect(Object.keys(arrays).sort()).toEqual(['image', 'label']);
    expect(arrays.image.shape).toEqual([32, 32]);
    expect(arrays.image.values).toBeInstanceOf(Float32Array);
  });

  it('HDF5 volumes with gzip (case0001) and without (case0002)', async () => {
    expect((expected.synapse.compression as Record<string, unknown>)).toEqual({ case0001: 'gzip', case0002: null });
    for (const name of ['case0001', 'case0002']) {
      const { image, label } = await readHdf5(path.join(dir, 'test_vol_h5', `${name}.npy.h5`), ['image', 'label']);
      expect(image.shape).toEqual([3, 32, 32]);
      expect(label.shape).toEqual([3, 32, 32]);
    }
  });

  it('train slices and test volumes equal numpy / h5py reads of the same files', async () => {
    const data = await loadSynapse(dir, 32);
    const train = expected.synapse.train as { shape: number[]; images: string; masks: string };
    const test = expected.synapse.test as { shape: number[]; images: string; masks: string; cases: number[] };
    expect(data.train.shape).toEqual(train.shape);
    expect(sha256(data.train.images)).toBe(train.images);
    expect(sha256(data.train.masks)).toBe(train.masks);
    expect(data.test.shape).toEqual(test.shape);
    expect(sha256(data.test.images)).toBe(test.images);
    expect(sha256(data.test.masks)).toBe(test.masks);
    expect(data.testCases).toEqual(test.cases);
    expect(data.classNames).toHaveLength(9);
    const resized = await loadSynapse(dir, 48);
    expect(resized.train.shape).toEqual([8, 1, 48, 48]);
  });

  it('damaged files are errors naming them', async () => {
    let d = copyOf('synapse-tiny');
    let file = path.join(d, 'train_npz', 'case0005_slice001.npz');
    fs.writeFileSync(file, 'PK not a zip');
    expect((await errorOf(loadSynapse(d, 32))).message).toMatch(new RegExp(`^${file}: is not a readable .npz \\(zip\\) file`));
    d = copyOf('synapse-tiny');
    file = path.join(d, 'train_npz', 'case0006_slice002.npz');
    fs.rmSync(file);
    expect((await errorOf(loadSynapse(d, 32))).message).toBe(`${file}: is missing (named in lists_Synapse/train.txt)`);
    d = copyOf('synapse-tiny');
    file = path.join(d, 'test_vol_h5', 'case0002.npy.h5');
    fs.writeFileSync(file, Buffer.alloc(100));
    expect((await errorOf(loadSynapse(d, 32))).message).toMatch(new RegExp(`^${file}: is not a readable HDF5 file`));
  });
});

describe('Cityscapes', () => {
  const dir = path.join(fixtures, 'cityscapes-tiny');
  const files = expected.cityscapes as Record<string, { labelIds: string; trainIds: string; rgb: string; shape: number[] }>;

  it('labelIds → trainIds by the official table; PNG values as PIL reads them', async () => {
    for (const [rel, e] of Object.entries(files)) {
      const label = await readPng(path.join(fixtures, rel));
      expect(sha256(label.data)).toBe(e.labelIds);
      expect(sha256(Uint8Array.from(label.data, (id) => LABEL_TO_TRAIN_ID[id]))).toBe(e.trainIds);
      const image = await readPng(path.join(fixtures, rel.replace('_gtFine_labelIds', '_leftImg8bit').replace('/gtFine/', '/leftImg8bit/')));
      expect([image.height, image.width, image.channels]).toEqual(e.shape);
      expect(sha256(image.data)).toBe(e.rgb);
    }
    expect(LABEL_TO_TRAIN_ID.filter((t) => t !== 255)).toHaveLength(19);
  });

  it('reads train and val resized, ignore 255, 19 classes, no background class', async () => {
    const data = await loadCityscapes(dir, 32);
    expect(data.train.shape).toEqual([2, 3, 32, 32]);
    expect(data.test.shape).toEqual([1, 3, 32, 32]);
    expect(data.ignoreIndex).toBe(255);
    expect(data.background).toBe(false);
    expect(new Set(data.train.masks).has(255)).toBe(true);
    expect(Math.max(...Array.from(data.train.masks).filter((v) => v !== 255))).toBeLessThan(19);
  });

  it('a missing label file is an error naming it', async () => {
    const d = copyOf('cityscapes-tiny');
    const file = path.join(d, 'gtFine', 'val', 'frankfurt', 'frankfurt_000000_000019_gtFine_labelIds.png');
    fs.rmSync(file);
    expect((await errorOf(loadCityscapes(d, 32))).message).toBe(
      `${file}: is missing (the labels of ${path.join(d, 'leftImg8bit', 'val', 'frankfurt', 'frankfurt_000000_000019_leftImg8bit.png')})`,
    );
  });
});

describe('truncated files (the first half of a real file) are errors naming them, before training', () => {
  const truncate = (file: string): void => {
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, bytes.subarray(0, bytes.length >> 1));
  };
  it.each([
    ['synapse-tiny', ['train_npz', 'case0005_slice001.npz'], (d: string) => loadSynapse(d, 32)],
    ['synapse-tiny', ['test_vol_h5', 'case0001.npy.h5'], (d: string) => loadSynapse(d, 32)],
    ['cityscapes-tiny', ['leftImg8bit', 'val', 'frankfurt', 'frankfurt_000000_000019_leftImg8bit.png'], (d: string) => loadCityscapes(d, 32)],
    ['cityscapes-tiny', ['gtFine', 'val', 'frankfurt', 'frankfurt_000000_000019_gtFine_labelIds.png'], (d: string) => loadCityscapes(d, 32)],
    ['folder-tiny', ['train', 'images', 'b.png'], (d: string) => loadFolder(d)],
    ['folder-tiny', ['train', 'masks', 'b.png'], (d: string) => loadFolder(d)],
    ['nifti-tiny', ['train', 'images', 'p1.nii.gz'], (d: string) => loadFolder(d)],
    ['nifti-tiny', ['train', 'masks', 'p2.nii'], (d: string) => loadFolder(d)],
  ] as [string, string[], (d: string) => Promise<unknown>][])('%s: %j', async (name, parts, load) => {
    const d = copyOf(name);
    const file = path.join(d, ...parts);
    truncate(file);
    const error = await errorOf(load(d));
    expect(error).toBeInstanceOf(DatasetError);
    expect(error.code).toBe(DATASET_ERROR);
    expect(error.message.startsWith(`${file}: `), error.message).toBe(true);
  });
});

describe('folders', () => {
  it.each(['folder-tiny', 'nifti-tiny'])('%s equals PIL / nibabel reads (8/16-bit PNG, palette masks, .nii and .nii.gz)', async (name) => {
    const data = await loadFolder(path.join(fixtures, name));
    for (const split of ['train', 'test'] as const) {
      const e = expected[name][split] as { shape: number[]; images: string; masks: string; cases: number[]; maxLabel: number };
      expect(data[split].shape).toEqual(e.shape);
      expect(sha256(data[split].images), `${split} images`).toBe(e.images);
      expect(sha256(data[split].masks), `${split} masks`).toBe(e.masks);
    }
    expect(data.classNames).toEqual(['background', 'class 1', 'class 2']);
    if (name === 'nifti-tiny') expect(data.testCases).toEqual([3]);
  });

  it('the fixtures hold what the tests claim: 16-bit and palette PNGs, gzip and plain NIfTI', async () => {
    expect((await readPng(path.join(fixtures, 'folder-tiny', 'train', 'images', 'b.png'))).depth).toBe(16);
    expect((await readPng(path.join(fixtures, 'folder-tiny', 'train', 'masks', 'b.png'))).palette).toBe(true);
    expect(fs.existsSync(path.join(fixtures, 'nifti-tiny', 'train', 'images', 'p1.nii.gz'))).toBe(true);
    expect(fs.existsSync(path.join(fixtures, 'nifti-tiny', 'train', 'images', 'p2.nii'))).toBe(true);
  });

  it('encodeNiftiLabels writes a NIfTI-1 label volume that reads back with its labels and the source geometry', async () => {
    const source = path.join(fixtures, 'nifti-geometry.nii.gz'); // nibabel: 0.7 × 0.8 × 2.5 mm voxels, rotated, offset, qform 1, sform 2
    const geometry = await readNiftiGeometry(source);
    expect(geometry).toMatchObject({ qformCode: 1, sformCode: 2, xyztUnits: 10, qoffset: [-12.5, 4.25, 30] });
    expect(geometry.pixDims.slice(1, 4).map((v) => Math.round(v * 1e6) / 1e6)).toEqual([0.7, 0.8, 2.5]);
    const [d, h, w] = (await readNifti(source)).shape as [number, number, number];
    const folder16 = tempFolder('segloss-nifti-write-');
    for (const labels of [Uint8Array.from({ length: d * h * w }, (_, i) => i % 7), Uint16Array.from({ length: d * h * w }, (_, i) => (i * 131) % 1000)]) {
      const nii = encodeNiftiLabels(labels, [d, h, w], geometry);
      for (const [name, bytes] of [['v.nii', nii], ['v.nii.gz', gzipSync(nii)]] as const) {
        const file = path.join(folder16, name);
        fs.writeFileSync(file, bytes);
        const back = await readNifti(file);
        expect(back.shape).toEqual([d, h, w]);
        expect(back.values).toBeInstanceOf(labels.constructor as typeof Uint8Array);
        expect(Array.from(back.values as Uint8Array)).toEqual(Array.from(labels));
        expect(await readNiftiGeometry(file)).toEqual(geometry);
      }
    }
    const plain = encodeNiftiLabels(new Uint8Array(6), [1, 2, 3]);
    fs.writeFileSync(path.join(folder16, 'plain.nii'), plain);
    expect((await readNiftiGeometry(path.join(folder16, 'plain.nii'))).pixDims.slice(0, 4)).toEqual([1, 1, 1, 1]);
    expect(() => encodeNiftiLabels(new Uint8Array(5), [1, 2, 3])).toThrow('Expected 6 labels for shape [1, 2, 3] but received 5');
    fs.rmSync(folder16, { recursive: true, force: true });
  });

  it('a missing mask, a bad label and a wrong size are errors naming the file', async () => {
    let d = copyOf('folder-tiny');
    fs.rmSync(path.join(d, 'train', 'masks', 'c.png'));
    expect((await errorOf(loadFolder(d))).message).toBe(`${path.join(d, 'train', 'images', 'c.png')}: has no mask in ${path.join(d, 'train', 'masks')} (a file named c.png, .nii or .nii.gz)`);
    d = copyOf('folder-tiny');
    fs.writeFileSync(path.join(d, 'classes.txt'), 'background\nthing\n');
    expect((await errorOf(loadFolder(d))).message).toMatch(new RegExp(`^${path.join(d, 'train', 'masks', 'a.png')}: label 2 at index \\d+; expected integers in \\[0, 2\\)$`));
    d = copyOf('folder-tiny');
    fs.copyFileSync(path.join(fixtures, 'cityscapes-tiny', 'leftImg8bit', 'val', 'frankfurt', 'frankfurt_000000_000019_leftImg8bit.png'), path.join(d, 'test', 'images', 'd.png'));
    expect((await errorOf(loadFolder(d))).message).toBe(`${path.join(d, 'test', 'masks', 'd.png')}: has shape (1, 24, 32); its image ${path.join(d, 'test', 'images', 'd.png')} has (1, 32, 64)`);
    d = copyOf('nifti-tiny');
    fs.writeFileSync(path.join(d, 'test', 'masks', 'p3.nii.gz'), 'garbage');
    expect((await errorOf(loadFolder(d))).message).toMatch(new RegExp(`^${path.join(d, 'test', 'masks', 'p3.nii.gz')}: is not a NIfTI-1 or NIfTI-2 file$`));
  });
});

describe('loadDataset and segloss check', () => {
  it('an unknown spec is a RangeError listing the forms', async () => {
    await expect(loadDataset('mnist')).rejects.toThrow('Expected one of fashion-seg, synapse:DIR, cityscapes:DIR, folder:DIR for --dataset but received "mnist"');
    await expect(loadDataset('synapse:')).rejects.toThrow(RangeError);
  });

  it('check --json describes a dataset', async () => {
    const { code, stdout } = await runCli(['check', '--dataset', `synapse:${path.join(fixtures, 'synapse-tiny')}`, '--image-size', '32', '--json']);
    expect(code).toBe(0);
    const d = JSON.parse(stdout) as { ok: boolean; train: { shape: number[]; counts: number[] }; test: { volumes: number[] } };
    expect(d.ok).toBe(true);
    expect(d.train.shape).toEqual([8, 1, 32, 32]);
    expect(d.train.counts.reduce((a, b) => a + b, 0)).toBe(8 * 32 * 32);
    expect(d.test.volumes).toEqual([3, 3]);
  });

  it('check names the bad file and exits 2', async () => {
    const d = copyOf('folder-tiny');
    fs.writeFileSync(path.join(d, 'train', 'images', 'a.png'), 'not a png');
    const { code, stderr } = await runCli(['check', '--dataset', `folder:${d}`]);
    expect(code).toBe(2);
    expect(stderr).toMatch(new RegExp(`^segloss check: ${path.join(d, 'train', 'images', 'a.png')}: is not a readable PNG`));
  });
});
