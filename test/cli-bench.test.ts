// `segloss bench`: times each loss on the seeded workload (src/cli/bench.ts); its numbers are the
// same computeLoss values, its errors are usage errors (exit 2).
import { describe, expect, it } from 'vitest';

import { benchWorkload, timeLoss } from '../src/cli/bench';
import { computeLoss } from '../src/index';
import { jsonLines, runCli } from './helpers/cli';
import { torchReady, torchRequired } from './helpers/trainer';

describe('segloss bench', () => {
  it('--json: a header line, then one line per loss with a positive time and throughput', async () => {
    const { code, stdout } = await runCli(['bench', '--losses', 'dice,boundary,rmi', '--shape', '2,3,32,40', '--iterations', '2', '--cold', '--json']);
    expect(code).toBe(0);
    const [head, ...rows] = jsonLines(stdout);
    expect(head).toMatchObject({ type: 'bench', shape: [2, 3, 32, 40], dtype: 'float32', iterations: 2, cold: true });
    expect(rows.map((r) => r.loss)).toEqual(['dice', 'boundary', 'rmi']);
    for (const r of rows) {
      expect(r.type).toBe('loss');
      expect(r.ms as number).toBeGreaterThan(0);
      expect(r.megapixelsPerSecond as number).toBeCloseTo((2 * 32 * 40) / ((r.ms as number) * 1e3), 6);
    }
  });
  it('the workload has regions of every class and logits leaning to them; a loss that cannot run there reports why', () => {
    const shape = [2, 4, 24, 20] as const;
    const { logits, target } = benchWorkload([...shape], 'float64');
    expect(logits).toBeInstanceOf(Float64Array);
    expect(new Set(target).size).toBe(4);
    const dice = computeLoss('dice', { logits, target, shape: [...shape] }).value;
    expect(dice).toBeGreaterThan(0);
    expect(dice).toBeLessThan(0.6); // leaning to the target: better than chance
    const tooSmall = timeLoss('rmi', { ...benchWorkload([1, 2, 2, 2], 'float32'), shape: [1, 2, 2, 2] }, 1, false);
    expect(tooSmall.ms).toBeUndefined();
    expect(tooSmall.error).toContain('Expected a radius ≤ the pooled plane');
  });
  it.each([
    [['bench', '--losses', 'dice,nope'], "--losses: expected ids of cross-entropy"],
    [['bench', '--losses', 'inverseform'], "but received 'inverseform'"],
    [['bench', '--shape', '2,3,32'], "--shape: expected B,C,H,W but received '2,3,32'"],
    [['bench', '--dtype', 'int8'], "--dtype: expected float32 or float64 but received 'int8'"],
    [['bench', '--iterations', '0'], '--iterations: expected an integer in [1, 1000]'],
  ])('%j is a usage error', async (args, message) => {
    const { code, stderr } = await runCli(args);
    expect(code).toBe(2);
    expect(stderr).toContain(message);
  });
  it.runIf(torchReady || torchRequired)('--train adds the trainer\'s images per second', { timeout: 120_000 }, async () => {
    const { code, stdout } = await runCli(['bench', '--losses', 'dice', '--shape', '1,2,16,16', '--iterations', '1', '--train', '--json']);
    expect(code).toBe(0);
    const train = jsonLines(stdout).find((r) => r.type === 'train');
    expect(train).toMatchObject({ model: 'unet', baseChannels: 16, imageSize: 64, batchSize: 8, steps: 5 });
    expect(train?.imagesPerSecond as number).toBeGreaterThan(0);
  });
});
