// report.html (src/report/): one self-contained file, opened in headless Chromium (Debian's
// chromium driven by playwright-core): every plot drawn (an inline SVG with marks of non-zero
// size), every image decoded, no console error, no request leaving the file. Skipped, with the
// reason printed, when /usr/bin/chromium is missing (CI installs it and then requires it).
import * as fs from 'node:fs';
import * as path from 'node:path';

import { chromium } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';

import { RUN_CONFIG_FORMAT, RUN_SUMMARY_FORMAT, type RunConfig, type RunSummary } from '../src/cli/run-dir';
import { loadFashionSeg } from '../src/datasets/index';
import { firstImages } from '../src/datasets/resize';
import { reportHtml, termNames } from '../src/report/index';
import { tempFolder } from './helpers/trainer';

const CHROMIUM = '/usr/bin/chromium';
const chromiumReady = fs.existsSync(CHROMIUM);
if (!chromiumReady) console.warn(`test/report.test.ts: browser check skipped: ${CHROMIUM} is missing (apt-get install chromium)`);

const folder = tempFolder('segloss-report-');
afterAll(() => fs.rmSync(folder, { recursive: true, force: true }));

const classNames = loadFashionSeg().classNames;
const K = classNames.length;

/** A run's records as train writes them: 3 epochs of 4 steps, a 2-term objective. */
function syntheticInput() {
  const test = firstImages(loadFashionSeg().test, 4);
  const predictions = Uint8Array.from(test.masks, (c, i) => (i % 97 === 0 ? (c + 1) % K : c));
  const metrics: Record<string, unknown>[] = [];
  for (let epoch = 0; epoch < 3; epoch++) {
    for (let s = 0; s < 4; s++) {
      const step = epoch * 4 + s;
      metrics.push({ type: 'step', epoch, step, loss: 1.5 / (1 + step), terms: [0.9 / (1 + step), 2.1 / (1 + step)], lr: 0.002, imagesPerSecond: 50 });
    }
    const test = { meanDice: 0.3 + 0.2 * epoch, perClassDice: new Array(K).fill(0.5), meanIoU: 0.2 + 0.2 * epoch, perClassIoU: new Array(K).fill(0.4), loss: 1 / (1 + epoch) };
    metrics.push({ type: 'epoch', epoch, loss: 1.2 / (1 + epoch), terms: [0.8 / (1 + epoch), 1.6 / (1 + epoch)], test });
  }
  const perClassDice = Array.from({ length: K }, (_, c) => (c === 3 ? NaN : 0.5 + c / 40));
  const summary: RunSummary = {
    format: RUN_SUMMARY_FORMAT,
    dataset: 'fashion-seg',
    classNames,
    meanDice: 0.71,
    meanForegroundDice: 0.7,
    perClassPooledDice: perClassDice.map((d) => d + 0.05),
    meanPooledDice: 0.75,
    perClassDice,
    meanIoU: 0.6,
    perClassIoU: perClassDice.map((d) => d - 0.1),
    hd95: 2.5,
    perClassHd95: Array.from({ length: K }, (_, c) => (c === 0 ? NaN : c / 3)),
    testImages: 4,
    testCases: 4,
    epochs: 3,
    steps: 12,
    imagesPerSecond: 50,
    trainSeconds: 1,
    parameterCount: 1000,
    device: 'cpu',
    threads: 1,
    environment: { segloss: '0.1.0', node: process.version, platform: 'linux-x64', cpu: 'test <cpu>', cpus: 2, libtorch: '2.13.0', device: 'cpu', deviceNames: [] },
  };
  const config = {
    format: RUN_CONFIG_FORMAT,
    command: ['segloss', 'train', '--loss', 'dice'],
    settings: { dataset: 'fashion-seg', model: 'unet:16', loss: 'dice', ceWeight: 0.5, epochs: 3, batchSize: 16, optimizer: 'adamw', lr: 0.002, imageSize: null, device: 'cpu', seed: 0, augment: 'none', threads: 'auto', trainLimit: null, testLimit: null },
    trainer: { objective: [{ loss: 'dice', weight: 0.5 }, { loss: 'cross-entropy', weight: 0.5 }] },
  } as unknown as RunConfig;
  return { config, summary, metrics, samples: { images: test.images, targets: test.masks, predictions, shape: test.shape } };
}

describe('report.html', () => {
  it('is one self-contained file: no script, no external reference', async () => {
    const html = await reportHtml(syntheticInput());
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).not.toMatch(/<script|<link|src="http|href="http|url\(http/);
    expect(html.match(/<figure class="plot"/g)).toHaveLength(5);
    expect(html.match(/<img src="data:image\/png;base64,/g)).toHaveLength(12);
    expect(html).toContain('test &#60;cpu&#62;'); // escaped
    expect(termNames([{ loss: 'dice', weight: 0.5 }, { loss: 'cross-entropy', weight: 0.5 }])).toEqual(['dice (×0.5)', 'cross-entropy (×0.5)']);
  });

  it.runIf(chromiumReady || process.env.CI)('opens in headless Chromium with every plot drawn and no console error', { timeout: 120_000 }, async () => {
    const file = path.join(folder, 'report.html');
    fs.writeFileSync(file, await reportHtml(syntheticInput()));
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      page.on('request', (r) => {
        if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) problems.push(`request: ${r.url()}`);
      });
      await page.goto(`file://${file}`, { waitUntil: 'load' });
      const plots = await page.$$eval('figure.plot', (figures) =>
        figures.map((f) => {
          const svg = f.querySelector('svg');
          const marks = svg ? Array.from(svg.querySelectorAll('g.mark-line path, g.mark-symbol path, g.mark-rect path')) : [];
          const drawn = marks.filter((m) => {
            const box = (m as unknown as { getBBox(): { width: number; height: number } }).getBBox();
            return box.width > 0 || box.height > 0;
          });
          const box = svg?.getBoundingClientRect();
          return { id: f.id, width: box?.width ?? 0, height: box?.height ?? 0, marks: marks.length, drawn: drawn.length };
        }),
      );
      expect(plots.map((p) => p.id)).toEqual(['loss-epochs', 'loss-steps', 'test-epochs', 'per-class', 'per-class-hd95']);
      for (const plot of plots) {
        expect(plot.width, plot.id).toBeGreaterThan(200);
        expect(plot.height, plot.id).toBeGreaterThan(150);
        expect(plot.drawn, plot.id).toBeGreaterThan(0);
        expect(plot.drawn, plot.id).toBe(plot.marks);
      }
      // Bars: Dice, pooled Dice and IoU for the 10 classes with values (class 3's are NaN and left out); HD95 for the 10 foreground classes.
      const bars = await page.$$eval('figure.plot g.mark-rect', (groups) => groups.map((g) => g.querySelectorAll('path').length));
      expect(bars).toEqual([3 * (K - 1), K - 1]);
      const images = await page.$$eval('table.samples img', (imgs) => imgs.map((i) => {
        const image = i as unknown as { complete: boolean; naturalWidth: number };
        return { ok: image.complete, w: image.naturalWidth };
      }));
      expect(images).toHaveLength(12);
      for (const image of images) expect(image).toEqual({ ok: true, w: 64 });
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
