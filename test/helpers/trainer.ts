// Shared pieces of the trainer and model suites: torch addon availability (skip, or fail under
// SEGLOSS_REQUIRE_TORCH=1), the venv's Python with torch for interop checks, temp folders.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { torchAvailable, torchInfo } from '../../src/torch/index';

export const torchReady = torchAvailable();
export const torchRequired = process.env.SEGLOSS_REQUIRE_TORCH === '1';

/** Why the torch addon is unavailable ('' when it loads). */
export function torchSkipReason(): string {
  if (torchReady) return '';
  try {
    torchInfo();
    return '';
  } catch (error) {
    return (error as Error).message;
  }
}

const root = path.resolve(__dirname, '..', '..');
const pythonCandidates = [process.env.SEGLOSS_PYTHON, path.join(root, '.venv', 'bin', 'python')].filter(Boolean) as string[];

/** A Python that imports torch and numpy, or null. */
export const python: string | null =
  pythonCandidates.find((p) => fs.existsSync(p) && spawnSync(p, ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0) ?? null;

/** Runs test/helpers/torch_interop.py `command` and parses its JSON line. */
export function interop<T = Record<string, unknown>>(...args: (string | number)[]): T {
  if (!python) throw new Error('no python with torch');
  const result = spawnSync(python, [path.join(__dirname, 'torch_interop.py'), ...args.map(String)], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`torch_interop.py ${args[0]} failed: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').pop() as string) as T;
}

/** A fresh temporary folder. */
export function tempFolder(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Writes a Float32Array as raw little-endian floats. */
export function writeF32(file: string, values: Float32Array): void {
  fs.writeFileSync(file, Buffer.from(values.buffer, values.byteOffset, values.byteLength));
}

/** Reads raw little-endian floats. */
export function readF32(file: string): Float32Array {
  const bytes = fs.readFileSync(file);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}
