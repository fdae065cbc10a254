// Reading the generated parity fixtures (test/fixtures/*.json, see test/fixtures/README.md).
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { LogitsArray, LossName, TargetArray } from '../../src/index';

/** One case of a fixture file, as stored. */
export interface FixtureCase {
  name: string;
  loss: LossName;
  options: Record<string, unknown>;
  shape: [number, number, number, number] | [number, number, number, number, number];
  dtype: 'float32' | 'float64';
  targetType: 'uint8' | 'uint16' | 'int32';
  valueDtype?: 'float32' | 'float64';
  referencePrecisionNote?: string;
  logits: number[];
  target: number[];
  value: number;
  grad: number[];
  /** robust-t: d value / d θ from the reference's autograd. */
  gradNuParameter?: number;
}

/** A fixture file: where the numbers come from, and its cases. */
export interface FixtureFile {
  file: string;
  reference: Record<string, unknown>;
  cases: FixtureCase[];
}

export const fixtureDir = path.resolve(__dirname, '..', 'fixtures');

/** Every fixture file present in test/fixtures. */
export function loadFixtureFiles(): FixtureFile[] {
  const names = fs.existsSync(fixtureDir) ? fs.readdirSync(fixtureDir).filter((f) => f.endsWith('.json')).sort() : [];
  return names.map((file) => {
    const data = JSON.parse(fs.readFileSync(path.join(fixtureDir, file), 'utf8')) as Omit<FixtureFile, 'file'>;
    return { file, reference: data.reference, cases: data.cases };
  });
}

/** The case's logits as the typed array of its dtype. */
export function fixtureLogits(c: FixtureCase): LogitsArray {
  return c.dtype === 'float64' ? Float64Array.from(c.logits) : Float32Array.from(c.logits);
}

/** The case's target as the typed array of its targetType. */
export function fixtureTarget(c: FixtureCase): TargetArray {
  if (c.targetType === 'uint8') return Uint8Array.from(c.target);
  if (c.targetType === 'uint16') return Uint16Array.from(c.target);
  return Int32Array.from(c.target);
}

/**
 * Whether the reference is float64-accurate: float64 logits, a float64 value, and no note saying
 * the reference rounded through float32 (nnU-Net's float32 sums, MONAI's float32 one-hot norm).
 */
export function isFloat64Exact(c: FixtureCase): boolean {
  return c.dtype === 'float64' && (c.valueDtype ?? c.dtype) === 'float64' && !c.referencePrecisionNote;
}

/** The case's options as the API takes them: a stored per-pixel `map` (a JSON array) becomes a Float64Array. */
export function fixtureOptions(c: FixtureCase): Record<string, unknown> {
  const { map, ...rest } = c.options;
  return Array.isArray(map) ? { ...rest, map: Float64Array.from(map as number[]) } : c.options;
}
