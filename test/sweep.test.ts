// `segloss sweep` (src/cli/sweep.ts): a 2 losses × 1 model grid on a slice of fashion-seg with the
// survey's protocol; one run folder per cell, results.md (Tables 3–5 layout) and results.csv whose
// numbers are the cells' summary.json; a second call reuses finished cells.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { cellDir } from '../src/cli/sweep';
import { runCli } from './helpers/cli';
import { tempFolder, torchReady, torchRequired } from './helpers/trainer';

const folder = tempFolder('segloss-sweep-');
afterAll(() => fs.rmSync(folder, { recursive: true, force: true }));

describe.runIf(torchReady || torchRequired)('segloss sweep', () => {
  it('trains the grid and writes the tables', { timeout: 180_000 }, async () => {
    const out = path.join(folder, 'grid');
    const args = ['sweep', '--losses', 'dice,tversky:alpha=0.5;beta=0.5', '--models', 'unet:4', '--epochs', '1', '--train-limit', '16', '--test-limit', '8', '--out', out];
    const first = await runCli(args);
    expect(first.code).toBe(0);
    const cells = [cellDir(out, 'dice', 'unet:4', 0.01), cellDir(out, 'tversky:alpha=0.5,beta=0.5', 'unet:4', 0.01)];
    const summaries = cells.map((dir) => JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')) as { meanForegroundDice: number; meanIoU: number; hd95: number; perClassDice: (number | null)[] });
    const config = JSON.parse(fs.readFileSync(path.join(cells[1], 'config.json'), 'utf8')) as { trainer: { objective: unknown; optimizer: Record<string, unknown> } };
    expect(config.trainer.objective).toEqual([{ loss: 'tversky', weight: 0.5, options: { alpha: 0.5, beta: 0.5 } }, { loss: 'cross-entropy', weight: 0.5 }]);
    expect(config.trainer.optimizer).toMatchObject({ name: 'sgd', lr: 0.01, schedule: 'poly' });
    const md = fs.readFileSync(path.join(out, 'results.md'), 'utf8').split('\n');
    const header = md.find((l) => l.startsWith('| loss |')) as string;
    expect(header).toBe('| loss | model | lr | T-shirt/top | Trouser | Pullover | Dress | Coat | Sandal | Shirt | Sneaker | Bag | Ankle boot | mean DSC | pooled DSC (all classes) | HD95 | mIoU |');
    const rows = md.filter((l) => l.startsWith('| `'));
    expect(rows).toHaveLength(2);
    const cols = rows[0].split('|').map((c) => c.trim());
    expect(cols[1]).toBe('`dice`');
    expect(cols[14]).toBe((100 * summaries[0].meanForegroundDice).toFixed(2));
    expect(cols[16]).toBe(summaries[0].hd95.toFixed(2));
    expect(cols[17]).toBe((100 * summaries[0].meanIoU).toFixed(2));
    const csv = fs.readFileSync(path.join(out, 'results.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(3);
    expect(csv[2].startsWith('"tversky:alpha=0.5,beta=0.5",unet:4,0.01,1,')).toBe(true);
    // A second call reuses the finished cells.
    const stamp = fs.statSync(path.join(cells[0], 'checkpoint.pt')).mtimeMs;
    const second = await runCli(args);
    expect(second.code).toBe(0);
    expect(fs.statSync(path.join(cells[0], 'checkpoint.pt')).mtimeMs).toBe(stamp);
    expect(fs.readFileSync(path.join(out, 'results.csv'), 'utf8').trim().split('\n')).toEqual(csv);
  });

  it('inverseform and boundary-aware cells train the loss alone (their own objectives), as train does', { timeout: 180_000 }, async () => {
    const out = path.join(folder, 'standalone');
    const args = ['sweep', '--losses', 'inverseform,boundary-aware:bins=2;radius=2', '--models', 'unet:4', '--epochs', '1', '--train-limit', '16', '--test-limit', '8', '--out', out];
    expect((await runCli(args)).code).toBe(0);
    const objectives = ['inverseform', 'boundary-aware:bins=2,radius=2'].map((loss) =>
      (JSON.parse(fs.readFileSync(path.join(cellDir(out, loss, 'unet:4', 0.01), 'config.json'), 'utf8')) as { trainer: { objective: unknown } }).trainer.objective);
    expect(objectives).toEqual([
      [{ loss: 'inverseform', weight: 1 }],
      [{ loss: 'boundary-aware', weight: 1, options: { bins: 2, radius: 2 } }],
    ]);
    expect(fs.readFileSync(path.join(out, 'results.csv'), 'utf8').trim().split('\n')).toHaveLength(3);
  });

  it('a loss × model combination the trainer refuses stops the sweep before any cell trains', async () => {
    const out = path.join(folder, 'refused');
    const { code, stderr } = await runCli(['sweep', '--losses', 'dice,conditional-boundary', '--models', 'unet:4,transunet:ti16', '--epochs', '1', '--out', out]);
    expect(code).toBe(2);
    expect(stderr).toBe("segloss sweep: --model: conditional-boundary reads the model's features and 1×1 head, which unet has (transunet's head is 3×3)\n");
    expect(fs.existsSync(out)).toBe(false);
  });
});
