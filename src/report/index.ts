/**
 * report.html of a training run: one self-contained file (inline SVG plots rendered in Node by
 * vega, PNG data: URIs, no script, no external resource) that opens offline. It shows the loss
 * curves per objective term (per epoch and per step), the test Dice per epoch, per-class Dice /
 * IoU / HD95 bars, qualitative predictions (image, target and prediction overlays) and the
 * environment.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { RunConfig, RunSummary } from '../cli/run-dir';
import type { TargetArray } from '../types';
import { type Row, classBars, lineChart, renderSvg } from './charts';
import { classColour, overlayPngs } from './overlays';

/** Test images with their targets and the model's predictions, for the qualitative figure. */
export interface ReportSamples {
  readonly images: Float32Array; // [n, Cin, H, W]
  readonly targets: TargetArray; // [n, H, W]
  readonly predictions: Uint8Array | Uint16Array; // [n, H, W]
  readonly shape: readonly [number, number, number, number];
}

export interface ReportInput {
  readonly config: RunConfig;
  readonly summary: RunSummary;
  /** metrics.jsonl's records, in order. */
  readonly metrics: readonly Record<string, unknown>[];
  readonly samples: ReportSamples;
  readonly ignoreIndex?: number;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The objective's term names, in order (e.g. ['dice', 'cross-entropy']). */
export function termNames(objective: unknown): string[] {
  if (typeof objective === 'string') return [objective];
  return (objective as { loss: string; weight?: number }[]).map((t) => `${t.loss} (×${t.weight ?? 1})`);
}

function epochRows(metrics: readonly Record<string, unknown>[], terms: readonly string[]): Row[] {
  const rows: Row[] = [];
  for (const m of metrics.filter((r) => r.type === 'epoch')) {
    const epoch = (m.epoch as number) + 1;
    rows.push({ epoch, series: 'objective (train)', value: m.loss as number });
    (m.terms as (number | null)[]).forEach((v, i) => rows.push({ epoch, series: `${terms[i] ?? `term ${i}`} (train)`, value: v }));
    const test = m.test as { loss: number | null } | null;
    if (test) rows.push({ epoch, series: 'objective (test)', value: test.loss });
  }
  return rows;
}

function stepRows(metrics: readonly Record<string, unknown>[], terms: readonly string[]): Row[] {
  const steps = metrics.filter((r) => r.type === 'step');
  const every = Math.max(1, Math.ceil(steps.length / 400));
  const rows: Row[] = [];
  steps.forEach((m, k) => {
    if (k % every !== 0) return;
    rows.push({ step: m.step as number, series: 'objective', value: m.loss as number });
    (m.terms as (number | null)[]).forEach((v, i) => rows.push({ step: m.step as number, series: terms[i] ?? `term ${i}`, value: v }));
  });
  return rows;
}

function diceRows(metrics: readonly Record<string, unknown>[]): Row[] {
  const rows: Row[] = [];
  for (const m of metrics.filter((r) => r.type === 'epoch' && r.test)) {
    const test = m.test as { meanDice: number | null; meanIoU: number | null };
    rows.push({ epoch: (m.epoch as number) + 1, series: 'mean Dice', value: test.meanDice });
    rows.push({ epoch: (m.epoch as number) + 1, series: 'mean IoU', value: test.meanIoU });
  }
  return rows;
}

function classRows(summary: RunSummary): Row[] {
  return summary.classNames.flatMap((name, c) => [
    { class: name, metric: 'Dice', value: summary.perClassDice[c] },
    { class: name, metric: 'Dice (pooled)', value: summary.perClassPooledDice[c] },
    { class: name, metric: 'IoU', value: summary.perClassIoU[c] },
  ]);
}

function hd95Rows(summary: RunSummary): Row[] {
  return (summary.perClassHd95 ?? []).map((value, c) => ({ class: summary.classNames[c], metric: 'HD95', value }));
}

function figure(id: string, caption: string, svg: string): string {
  return `<figure class="plot" id="${id}">${svg}<figcaption>${escapeHtml(caption)}</figcaption></figure>`;
}

async function qualitative(input: ReportInput): Promise<string> {
  const [n, cin, h, w] = input.samples.shape;
  const rows: string[] = [];
  for (let i = 0; i < n; i++) {
    const image = input.samples.images.subarray(i * cin * h * w, i * cin * h * w + h * w);
    const target = await overlayPngs(image, input.samples.targets.subarray(i * h * w, (i + 1) * h * w), w, h, input.ignoreIndex);
    const prediction = await overlayPngs(image, input.samples.predictions.subarray(i * h * w, (i + 1) * h * w), w, h);
    const cell = (src: string, alt: string): string => `<td><img src="${src}" width="${w * 3}" height="${h * 3}" alt="${alt} ${i}"></td>`;
    rows.push(`<tr><th>${i}</th>${cell(target.image, 'image')}${cell(target.overlay, 'target')}${cell(prediction.overlay, 'prediction')}</tr>`);
  }
  const legend = input.summary.classNames
    .map((name, c) => (c === 0 ? '' : `<span class="swatch" style="background: rgb(${classColour(c).join(', ')})"></span>${escapeHtml(name)}`))
    .join(' ');
  return `<table class="samples"><tr><th>#</th><th>image</th><th>target</th><th>prediction</th></tr>${rows.join('')}</table><p class="legend">${legend}</p>`;
}

function metricTable(summary: RunSummary): string {
  const f = (x: number | undefined | null, d: number): string => (x === undefined || x === null || !Number.isFinite(x) ? '–' : x.toFixed(d));
  const hd = summary.perClassHd95;
  const rows = summary.classNames.map(
    (name, c) => `<tr><td>${escapeHtml(name)}</td><td>${f(summary.perClassDice[c], 4)}</td><td>${f(summary.perClassPooledDice[c], 4)}</td><td>${f(summary.perClassIoU[c], 4)}</td>${hd ? `<td>${f(hd[c], 2)}</td>` : ''}</tr>`,
  );
  const mean = `<tr class="mean"><td>mean</td><td>${f(summary.meanDice, 4)}</td><td>${f(summary.meanPooledDice, 4)}</td><td>${f(summary.meanIoU, 4)}</td>${hd ? `<td>${f(summary.hd95, 2)}</td>` : ''}</tr>`;
  return `<table class="metrics"><tr><th>class</th><th>Dice (per image)</th><th>Dice (pooled)</th><th>IoU</th>${hd ? '<th>HD95 (px)</th>' : ''}</tr>${rows.join('')}${mean}</table>`;
}

// A summary written before `threads` was recorded has none.
function threadsText(threads: number | undefined): string {
  return threads === undefined ? 'threads not recorded' : `${threads} CPU ${threads === 1 ? 'thread' : 'threads'}`;
}

function environmentTable(input: ReportInput): string {
  const e = input.summary.environment;
  const s = input.config.settings;
  const rows: [string, string][] = [
    ['command', input.config.command.join(' ')],
    ['dataset', `${s.dataset} (${input.summary.testImages} test images)`],
    ['model', `${s.model} (${input.summary.parameterCount.toLocaleString('en-US')} parameters)`],
    ['objective', termNames(input.config.trainer.objective).join(' + ')],
    ['optimizer', `${s.optimizer}, lr ${s.lr}, poly; batch ${s.batchSize}; ${input.summary.epochs} epochs, ${input.summary.steps} steps`],
    ['speed', `${input.summary.imagesPerSecond.toFixed(1)} images/s, ${input.summary.trainSeconds.toFixed(0)} s of training, ${threadsText(input.summary.threads)}`],
    ['device', `${e.device}${e.deviceNames.length ? ` (${e.deviceNames.join(', ')})` : ''}`],
    ['machine', `${e.cpu}, ${e.cpus} CPUs, ${e.platform}`],
    ['versions', `segloss ${e.segloss}, Node ${e.node}, libtorch ${e.libtorch}`],
  ];
  return `<table class="environment">${rows.map(([k, v]) => `<tr><th>${k}</th><td>${escapeHtml(v)}</td></tr>`).join('')}</table>`;
}

const STYLE = `
body { font-family: sans-serif; margin: 2em; color: #222; max-width: 1100px; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
table { border-collapse: collapse; } td, th { padding: 2px 10px; text-align: left; }
table.metrics td:not(:first-child) { text-align: right; font-variant-numeric: tabular-nums; }
tr.mean { font-weight: bold; border-top: 1px solid #888; }
figure.plot { display: inline-block; margin: 0 2em 1em 0; } figcaption { font-size: 0.85em; color: #555; }
table.samples img { image-rendering: pixelated; }
.swatch { display: inline-block; width: 0.9em; height: 0.9em; margin: 0 0.2em 0 0.8em; vertical-align: middle; }
`;

/** The report as HTML. */
export async function reportHtml(input: ReportInput): Promise<string> {
  const terms = termNames(input.config.trainer.objective);
  const { summary } = input;
  const plots = [
    figure('loss-epochs', 'Objective and each term per epoch (train: mean over the epoch\'s images; test: after the epoch).', await renderSvg(lineChart(epochRows(input.metrics, terms), { x: 'epoch', xTitle: 'epoch', yTitle: 'loss', title: 'Loss per epoch' }))),
    figure('loss-steps', 'Objective and each term per step (training batches).', await renderSvg(lineChart(stepRows(input.metrics, terms), { x: 'step', xTitle: 'step', yTitle: 'loss', title: 'Loss per step' }))),
    figure('test-epochs', 'Test mean Dice and mean IoU after each epoch.', await renderSvg(lineChart(diceRows(input.metrics), { x: 'epoch', xTitle: 'epoch', yTitle: 'score', title: 'Test metrics per epoch' }))),
    figure('per-class', 'Per-class Dice (per image, TransUNet\'s policy; and pooled over the test set) and IoU (pooled).', await renderSvg(classBars(classRows(summary), { title: 'Per-class Dice and IoU', yTitle: 'score', domain: [0, 1] }))),
  ];
  if (summary.perClassHd95) {
    plots.push(figure('per-class-hd95', 'Per-class HD95 in pixels (TransUNet\'s: 0 when the prediction or the target is empty).', await renderSvg(classBars(hd95Rows(summary), { title: 'Per-class HD95', yTitle: 'pixels' }))));
  }
  const title = `segloss run: ${input.config.settings.model} on ${input.config.settings.dataset}`;
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>`,
    `<h1>${escapeHtml(title)}</h1>`,
    `<p>Mean Dice <b>${summary.meanDice.toFixed(4)}</b> per image (foreground classes ${summary.meanForegroundDice.toFixed(4)}), <b>${summary.meanPooledDice.toFixed(4)}</b> pooled over the test set, mean IoU <b>${summary.meanIoU.toFixed(4)}</b>` +
      `${summary.hd95 === undefined ? '' : `, HD95 <b>${summary.hd95.toFixed(2)}</b> px`} on ${summary.testImages} test images after ${summary.epochs} epochs.</p>`,
    '<h2>Training curves</h2>',
    plots.slice(0, 3).join('\n'),
    '<h2>Per-class metrics</h2>',
    metricTable(summary),
    plots.slice(3).join('\n'),
    '<h2>Qualitative predictions</h2>',
    await qualitative(input),
    '<h2>Environment</h2>',
    environmentTable(input),
    '</body></html>',
    '',
  ].join('\n');
}

/** metrics.jsonl's records. */
export function readMetrics(file: string): Record<string, unknown>[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Writes `dir/report.html`. */
export async function writeRunReport(dir: string, input: ReportInput): Promise<string> {
  const file = path.join(dir, 'report.html');
  fs.writeFileSync(file, await reportHtml(input));
  return file;
}
