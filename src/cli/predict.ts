/**
 * `segloss predict --run DIR | --checkpoint FILE --input PATH… [--out DIR] [--image-size N]`:
 * segments images with a trained model. Inputs are PNG files (grey or RGB, 8/16-bit), NIfTI
 * volumes (.nii, .nii.gz; every z slice) or folders of them. For each PNG it writes
 * `<name>_mask.png` (the labels: 8-bit, 16-bit above 255 classes); for each volume
 * `<name>_mask.nii.gz` (or `.nii`, as the input: a NIfTI-1 label volume, uint8 or uint16, with the
 * input's voxel size, qform and sform); and for each image or slice `<name>_overlay.png` (the
 * classes' colours over the image), at the input's own size.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { Command as Commander } from 'commander';
import { gzipSync } from 'fflate';

import { readImage, stemOf } from '../datasets/folder';
import { encodeNiftiLabels, readNiftiGeometry } from '../datasets/nifti';
import { encodeLabelPng } from '../datasets/png';
import { resizeImages, resizeMasks } from '../datasets/resize';
import { overlayPngs } from '../report/overlays';
import { Trainer } from '../trainer/trainer';
import { type Command, commanderCommand } from './command';
import { checkpointOf } from './eval';
import { UsageError, parseInteger } from './train-options';

function predictProgram(): Commander {
  return new Commander('predict')
    .description('Segment images with a trained model; write mask PNGs (NIfTI label volumes for NIfTI inputs) and overlays')
    .option('--run <dir>', 'a train run folder (its checkpoint.pt)')
    .option('--checkpoint <file>', 'a Trainer checkpoint')
    .requiredOption('--input <paths...>', 'PNG files, NIfTI volumes (.nii, .nii.gz) or folders of them')
    .option('--out <dir>', 'where the masks and overlays go', 'predictions')
    .option('--image-size <n>', "resize to n × n for the model (default: the run's; TransUNet: its imageSize)")
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) });
}

/** The image files named by `--input` (folders expanded, sorted). */
export function inputFiles(paths: readonly string[]): string[] {
  const files: string[] = [];
  for (const p of paths) {
    if (!fs.existsSync(p)) throw new UsageError(`--input: ${p} is missing`);
    if (fs.statSync(p).isDirectory()) {
      for (const f of fs.readdirSync(p).sort()) if (stemOf(f)) files.push(path.join(p, f));
    } else if (stemOf(path.basename(p))) files.push(p);
    else throw new UsageError(`--input: ${p} is not a .png, .nii or .nii.gz file`);
  }
  if (files.length === 0) throw new UsageError('--input: no .png, .nii or .nii.gz file found');
  return files;
}

/** The label volume of a NIfTI input, in its format (.nii, or gzipped .nii.gz) and with its geometry. */
async function niftiMaskFile(input: string, ext: string, masks: Uint8Array | Uint16Array, shape: [number, number, number]): Promise<Uint8Array> {
  const nii = encodeNiftiLabels(masks, shape, await readNiftiGeometry(input));
  return ext === '.nii.gz' ? gzipSync(nii) : nii;
}

async function predict(o: { run?: string; checkpoint?: string; input: string[]; out: string; imageSize?: string }): Promise<number> {
  const files = inputFiles(o.input);
  const { checkpoint, config } = checkpointOf(o);
  const runSize = config?.settings.imageSize ?? null;
  const trainer = await Trainer.load(checkpoint);
  try {
    const model = trainer.options.model as { name: string; inChannels: number; imageSize?: number };
    const size = o.imageSize !== undefined ? parseInteger(o.imageSize, '--image-size', 16, 8192) : model.name === 'transunet' ? (model.imageSize as number) : runSize;
    fs.mkdirSync(o.out, { recursive: true });
    let written = 0;
    for (const file of files) {
      const { stem, ext } = stemOf(path.basename(file)) as { stem: string; ext: string };
      const image = await readImage(file, ext);
      const [n, c, h, w] = image.shape;
      if (c !== model.inChannels) throw new UsageError(`--input: ${file} has ${c} channel(s); the model takes ${model.inChannels}`);
      const input = size === null ? image.images : resizeImages(image.images, image.shape, size, size);
      const labels = await trainer.predict(input, size === null ? image.shape : [n, c, size, size]);
      const masks = size === null ? labels : resizeMasks(labels, n, size, size, h, w);
      const volume = ext !== '.png';
      if (volume) fs.writeFileSync(path.join(o.out, `${stem}_mask${ext}`), await niftiMaskFile(file, ext, masks, [n, h, w]));
      for (let z = 0; z < n; z++) {
        const name = n > 1 ? `${stem}_z${String(z).padStart(3, '0')}` : stem;
        const mask = masks.subarray(z * h * w, (z + 1) * h * w);
        if (!volume) fs.writeFileSync(path.join(o.out, `${name}_mask.png`), await encodeLabelPng(w, h, mask));
        const { overlay } = await overlayPngs(image.images.subarray(z * c * h * w, z * c * h * w + h * w), mask, w, h);
        fs.writeFileSync(path.join(o.out, `${name}_overlay.png`), Buffer.from(overlay.slice(overlay.indexOf(',') + 1), 'base64'));
        written++;
      }
    }
    process.stdout.write(`segloss predict: ${written} mask(s) and overlay(s) from ${files.length} file(s) → ${o.out}\n`);
    return 0;
  } finally {
    trainer.dispose();
  }
}

export const predictCommand: Command = commanderCommand({
  name: 'predict',
  summary: 'Segment PNG images or NIfTI volumes with a trained model: mask PNGs / NIfTI volumes and overlays',
  usage: '--run DIR | --checkpoint FILE --input PATH… [--out DIR] [--image-size N]',
  program: predictProgram,
  run: (program) => predict(program.opts()),
});
