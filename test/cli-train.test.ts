// `segloss train` (src/cli/train.ts): option errors before anything runs, a short run on
// fashion-seg writing the run folder (config.json, metrics.jsonl, checkpoint.pt, summary.json, report.html)
// with --json events, and Ctrl-C (SIGINT) → checkpoint, exit 130, then --resume finishing with
// exactly the metrics of an uninterrupted run (the trainer resumes bit-identically on the CPU).
// Needs the torch addon (skipped with the reason printed; SEGLOSS_REQUIRE_TORCH=1 fails instead).
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { readNifti, readNiftiGeometry } from '../src/datasets/nifti';
import { readPng } from '../src/datasets/png';
import { resolveTrainSettings, trainerThreadsOf } from '../src/cli/train-options';
import { Trainer } from '../src/trainer/index';
import { jsonLines, runCli } from './helpers/cli';
import { tempFolder, torchReady, torchRequired, torchSkipReason } from './helpers/trainer';

const root = path.resolve(__dirname, '..');
const bin = path.join(root, 'lib', 'cli', 'segloss.js');
const folder = tempFolder('segloss-cli-train-');
afterAll(() => fs.rmSync(folder, { recursive: true, force: true }));

const canTrain = torchReady || torchRequired;
if (!canTrain) console.warn(`test/cli-train.test.ts: training runs skipped: ${torchSkipReason()}`);

const tiny = ['--train-limit', '24', '--test-limit', '12', '--batch-size', '8', '--model', 'unet:4'];

describe('segloss train: options', () => {
  it.each([
    [['--epochs', '0'], 'segloss train: --epochs: expected an integer in [1, 100000] but received "0"'],
    [['--ce-weight', '2'], 'segloss train: --ce-weight: expected a number in [0, 1] but received "2"'],
    [['--lr', '-1'], 'segloss train: --lr: expected a finite number > 0 but received "-1"'],
    [['--model', 'vgg'], 'segloss train: --model: expected unet[:BASE] or transunet[:b16|s16|ti16] but received "vgg"'],
    [['--model', 'transunet:l16'], 'segloss train: --model transunet:PRESET: expected one of b16, s16, ti16 but received "l16"'],
    [['--loss', 'dise'], /^segloss train: --loss: expected one of cross-entropy, .*dice.* \(optionally :k=v,…\) but received "dise"$/],
    [['--loss', 'focal:gamma'], 'segloss train: --loss: expected k=v after \'focal:\' but received "gamma"'],
    [['--dataset', 'mnist'], 'segloss train: Expected one of fashion-seg, synapse:DIR, cityscapes:DIR, folder:DIR for --dataset but received "mnist"'],
    [['--dataset', 'folder:/nonexistent'], 'segloss train: /nonexistent: is missing'],
    [['--device', 'gpu'], 'segloss train: --device: expected cpu, cuda or cuda:N but received "gpu"'],
    [['--threads', '0'], 'segloss train: --threads: expected an integer in [1, 1024] but received "0"'],
    [['--threads', 'many'], 'segloss train: --threads: expected an integer in [1, 1024] but received "many"'],
    [['--resume'], 'segloss train: --resume: needs --out DIR, the folder of the run to continue'],
    [['--loss', 'boundary-aware', '--ce-weight', '0.5'],
      'segloss train: --ce-weight: boundary-aware is the whole objective (its model outputs distance bins, no logits for a cross-entropy); give 0 or leave it out'],
    [['--loss', 'conditional-boundary', '--ce-weight', '0'],
      'segloss train: --ce-weight: conditional-boundary reaches the logits only through their argmax and needs a cross-entropy beside it; give a weight in (0, 1]'],
    [['--loss', 'conditional-boundary', '--model', 'transunet:ti16'],
      "segloss train: --model: conditional-boundary reads the model's features and 1×1 head, which unet has (transunet's head is 3×3)"],
  ])('%j → exit 2 with the message', async (args, message) => {
    const { code, stderr, stdout } = await runCli(['train', ...args]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    if (typeof message === 'string') expect(stderr).toBe(message + '\n');
    else expect(stderr.trim()).toMatch(message);
  });

  it('--threads auto (the default): one thread for unet:BASE ≤ 8 on the CPU, else libtorch\'s default; a number as given', () => {
    const threadsOf = (raw: Parameters<typeof resolveTrainSettings>[0]) => trainerThreadsOf(resolveTrainSettings(raw));
    expect(resolveTrainSettings({}).threads).toBe('auto');
    expect(threadsOf({})).toBe(1); // unet:8, the default model
    expect(threadsOf({ model: 'unet:4', threads: 'auto' })).toBe(1);
    expect(threadsOf({ model: 'unet:16' })).toBeUndefined();
    expect(threadsOf({ model: 'transunet:ti16' })).toBeUndefined();
    expect(threadsOf({ device: 'cuda' })).toBeUndefined();
    expect(threadsOf({ model: 'unet:16', threads: '2' })).toBe(2);
    expect(threadsOf({ threads: '3' })).toBe(3);
    // a run folder written before --threads existed
    expect(trainerThreadsOf({ model: 'unet:8', device: 'cpu', threads: undefined as unknown as 'auto' })).toBe(1);
  });

  it('an unknown option is refused by commander with exit 2', async () => {
    const { code, stderr } = await runCli(['train', '--epoch', '3']);
    expect(code).toBe(2);
    expect(stderr).toContain("error: unknown option '--epoch'");
  });

  it('train --help lists every option', async () => {
    const { code, stdout } = await runCli(['train', '--help']);
    expect(code).toBe(0);
    for (const option of ['--dataset', '--model', '--loss', '--ce-weight', '--epochs', '--batch-size', '--lr', '--optimizer', '--image-size', '--device', '--seed', '--threads', '--out', '--resume', '--json', '--quiet']) {
      expect(stdout).toContain(option);
    }
  });
});

describe.runIf(canTrain)('segloss train: runs', () => {
  it('--json: events and the run folder of a short run', { timeout: 120_000 }, async () => {
    const out = path.join(folder, 'short');
    const { code, stdout, stderr } = await runCli(['train', ...tiny, '--epochs', '2', '--loss', 'tversky:alpha=0.4,beta=0.6', '--out', out, '--json']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const events = jsonLines(stdout);
    expect(events[0]).toMatchObject({ type: 'run', dir: out, trainImages: 24, testImages: 12 });
    expect(events[1]).toEqual({ type: 'start', epoch: 0, epochs: 2, stepsPerEpoch: 3, stepInEpoch: 0 });
    expect(events.filter((e) => e.type === 'step')).toHaveLength(6);
    expect(events.filter((e) => e.type === 'epoch').map((e) => e.epoch)).toEqual([0, 1]);
    const summary = events.at(-1) as Record<string, unknown>;
    expect(summary.type).toBe('summary');
    for (const file of ['config.json', 'metrics.jsonl', 'checkpoint.pt', 'summary.json', 'report.html']) expect(fs.existsSync(path.join(out, file)), file).toBe(true);
    const report = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
    expect(report.match(/<figure class="plot"/g)).toHaveLength(5);
    expect(report.match(/<img src="data:image\/png;base64,/g)).toHaveLength(3 * 8);
    expect(report).toContain('tversky (×0.5) + cross-entropy (×0.5)');
    const written = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8')) as Record<string, unknown>;
    expect({ type: 'summary', ...written }).toEqual(JSON.parse(JSON.stringify(summary)));
    // --threads auto: one thread for a UNet of base ≤ 8 on the CPU.
    expect(written).toMatchObject({ dataset: 'fashion-seg', epochs: 2, steps: 6, testImages: 12, device: 'cpu', threads: 1 });
    for (const key of ['meanDice', 'meanIoU', 'hd95', 'imagesPerSecond']) expect(typeof written[key], key).toBe('number');
    expect((written.perClassDice as unknown[]).length).toBe(11);
    // Pooled Dice = 2·IoU / (1 + IoU) of the pooled IoU, class by class.
    const iou = written.perClassIoU as (number | null)[];
    (written.perClassPooledDice as (number | null)[]).forEach((d, c) => {
      if (iou[c] === null) expect(d).toBeNull();
      else expect(d).toBeCloseTo((2 * (iou[c] as number)) / (1 + (iou[c] as number)), 12);
    });
    const config = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')) as { settings: Record<string, unknown>; trainer: { objective: unknown; model: Record<string, unknown> } };
    expect(config.settings).toMatchObject({ loss: 'tversky:alpha=0.4,beta=0.6', ceWeight: 0.5, epochs: 2, batchSize: 8, trainLimit: 24, threads: 'auto' });
    expect(config.trainer.objective).toEqual([
      { loss: 'tversky', weight: 0.5, options: { alpha: 0.4, beta: 0.6 } },
      { loss: 'cross-entropy', weight: 0.5 },
    ]);
    expect(config.trainer.model).toMatchObject({ name: 'unet', baseChannels: 4, numClasses: 11 });
    const metrics = jsonLines(fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8'));
    expect(metrics.map((m) => m.type)).toEqual(['step', 'step', 'step', 'epoch', 'step', 'step', 'step', 'epoch']);
    expect((metrics[3].terms as number[]).length).toBe(2);
    // segloss eval on the run gives the summary's metrics; predict writes masks and overlays.
    const evaluated = await runCli(['eval', '--run', out, '--json']);
    expect(evaluated.code, evaluated.stderr).toBe(0);
    const evaluation = JSON.parse(evaluated.stdout) as Record<string, unknown>;
    for (const key of ['meanDice', 'perClassDice', 'meanIoU', 'hd95', 'meanPooledDice', 'testImages']) expect(evaluation[key], key).toEqual(written[key]);
    const predictions = path.join(out, 'predictions');
    const fixtures = path.join(root, 'test', 'fixtures', 'datasets');
    const predicted = await runCli(['predict', '--run', out, '--input', path.join(fixtures, 'folder-tiny', 'test', 'images'), path.join(fixtures, 'nifti-tiny', 'test', 'images', 'p3.nii.gz'), '--out', predictions]);
    expect(predicted.code, predicted.stderr).toBe(0);
    expect(fs.readdirSync(predictions).sort()).toEqual(
      ['d_mask.png', 'd_overlay.png', 'p3_mask.nii.gz', 'p3_z000_overlay.png', 'p3_z001_overlay.png', 'p3_z002_overlay.png'],
    );
    const labelVolume = await readNifti(path.join(predictions, 'p3_mask.nii.gz'));
    const image = await readNifti(path.join(fixtures, 'nifti-tiny', 'test', 'images', 'p3.nii.gz'));
    expect(labelVolume.shape).toEqual(image.shape);
    expect(labelVolume.values).toBeInstanceOf(Uint8Array);
    expect(Math.max(...(labelVolume.values as Uint8Array))).toBeLessThan(11);
    expect(await readNiftiGeometry(path.join(predictions, 'p3_mask.nii.gz'))).toEqual(await readNiftiGeometry(path.join(fixtures, 'nifti-tiny', 'test', 'images', 'p3.nii.gz')));
    const mask = await readPng(path.join(predictions, 'd_mask.png'));
    expect([mask.width, mask.height, mask.channels, mask.depth]).toEqual([32, 24, 1, 8]);
    expect(Math.max(...mask.data)).toBeLessThan(11);
    expect((await readPng(path.join(predictions, 'p3_z001_overlay.png'))).channels).toBe(3);
    // A second run into the same folder is refused.
    const again = await runCli(['train', ...tiny, '--out', out]);
    expect(again.code).toBe(2);
    expect(again.stderr).toBe(`segloss train: --out: ${out} already holds a run (checkpoint.pt); continue it with --resume or choose another folder\n`);
  });

  it.each([
    ['synapse', 'synapse-tiny', 9, true],
    ['cityscapes', 'cityscapes-tiny', 19, false],
  ])('a tiny %s tree trains one epoch end to end', { timeout: 120_000 }, async (kind, tree, classes, hd95) => {
    const out = path.join(folder, tree);
    const dataset = `${kind}:${path.join(root, 'test', 'fixtures', 'datasets', tree)}`;
    const { code, stdout, stderr } = await runCli(['train', '--dataset', dataset, '--image-size', '32', '--epochs', '1', '--batch-size', '4', '--model', 'unet:4', '--out', out, '--json']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const summary = jsonLines(stdout).at(-1) as Record<string, unknown>;
    expect(summary).toMatchObject({ type: 'summary', dataset, epochs: 1, device: 'cpu' });
    expect((summary.perClassDice as unknown[]).length).toBe(classes);
    expect(typeof summary.meanDice).toBe('number');
    expect(summary.hd95 !== undefined).toBe(hd95);
    // Synapse: Dice per test volume (2 volumes of 3 slices); Cityscapes: one case per val image.
    expect(summary.testCases).toBe(kind === 'synapse' ? 2 : 1);
    expect(fs.existsSync(path.join(out, 'report.html'))).toBe(true);
  });

  it.each([
    ['conditional-boundary', [{ loss: 'conditional-boundary', weight: 0.5 }, { loss: 'cross-entropy', weight: 0.5 }], 0.5, 11],
    ['inverseform:edgeWeight=0.5', [{ loss: 'inverseform', weight: 1, options: { edgeWeight: 0.5 } }], 0, 12],
    ['boundary-aware:bins=2,radius=3', [{ loss: 'boundary-aware', weight: 1, options: { bins: 2, radius: 3 } }], 0, 22],
  ])('--loss %s trains one epoch; eval on the run gives its metrics', { timeout: 120_000 }, async (loss, objective, ceWeight, outputs) => {
    const out = path.join(folder, loss.split(':')[0]);
    const { code, stdout, stderr } = await runCli(['train', ...tiny, '--epochs', '1', '--loss', loss, '--out', out, '--json']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const events = jsonLines(stdout);
    const steps = events.filter((e) => e.type === 'step');
    expect(steps).toHaveLength(3);
    for (const step of steps) expect((step.terms as number[]).length).toBe(objective.length);
    const config = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')) as { settings: Record<string, unknown>; trainer: { objective: unknown } };
    expect(config.settings).toMatchObject({ loss, ceWeight });
    expect(config.trainer.objective).toEqual(objective);
    const summary = events.at(-1) as Record<string, unknown>;
    expect(summary.type).toBe('summary');
    expect((summary.perClassDice as unknown[]).length).toBe(11);
    const evaluated = await runCli(['eval', '--run', out, '--json']);
    expect(evaluated.code, evaluated.stderr).toBe(0);
    const evaluation = JSON.parse(evaluated.stdout) as Record<string, unknown>;
    for (const key of ['meanDice', 'perClassDice', 'meanIoU']) expect(evaluation[key], key).toEqual(summary[key]);
    // the checkpoint's head has C (+ 1 for the edge logit, or × bins) outputs
    const trainer = await Trainer.load(path.join(out, 'checkpoint.pt'));
    const image = new Float32Array(32 * 32 * (trainer.options.model.inChannels));
    const logits = await trainer.predictLogits(image, [1, trainer.options.model.inChannels, 32, 32]);
    trainer.dispose();
    expect(logits.length).toBe(outputs * 32 * 32);
  });

  it('Ctrl-C writes the checkpoint and exits 130; --resume ends where a straight run ends', { timeout: 180_000 }, async () => {
    const args = ['train', ...tiny, '--epochs', '2', '--seed', '3', '--json'];
    const straight = path.join(folder, 'straight');
    const run = spawnSync(process.execPath, [bin, ...args, '--out', straight], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);

    const stopped = path.join(folder, 'stopped');
    const child = spawn(process.execPath, [bin, ...args, '--out', stopped], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let signalled = false;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (!signalled && stdout.includes('"type":"step"')) {
        signalled = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(130);
    const last = jsonLines(stdout).at(-1) as Record<string, unknown>;
    expect(last).toMatchObject({ type: 'interrupted', checkpoint: path.join(stopped, 'checkpoint.pt') });
    expect(last.step as number).toBeLessThan(6);
    expect(fs.existsSync(path.join(stopped, 'summary.json'))).toBe(false);

    const resumed = spawnSync(process.execPath, [bin, 'train', '--out', stopped, '--resume', '--json'], { encoding: 'utf8' });
    expect(resumed.status, resumed.stderr).toBe(0);
    const a = JSON.parse(fs.readFileSync(path.join(straight, 'summary.json'), 'utf8')) as Record<string, unknown>;
    const b = JSON.parse(fs.readFileSync(path.join(stopped, 'summary.json'), 'utf8')) as Record<string, unknown>;
    for (const key of ['meanDice', 'perClassDice', 'meanIoU', 'perClassIoU', 'hd95', 'epochs', 'steps']) expect(b[key], key).toEqual(a[key]);
  });
});
