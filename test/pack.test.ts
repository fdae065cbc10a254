// The proof that `npm install` works from prebuilt binaries: pack the package (prepack builds
// lib/ and prebuilds/ with prebuildify), install the tarball into an empty project with
// --ignore-scripts (so nothing can compile), and compute a Dice loss there with require() and
// import. The package is packed from a copy of the tree, so the repository's build/ is untouched
// while other test files use it.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { computeLoss } from '../src/index';
import { packageRoot } from '../src/native/core';

const PACKED = ['package.json', 'tsconfig.json', 'binding.gyp', '.gitignore', 'src', 'native', 'scripts', 'README.md', 'CMakeLists.txt'];

const diceCase = {
  logits: [1, -1, 0.5, 2, -0.25, 0.75, 3, -2, 0.1, 0.2, -0.3, 0.4],
  target: [0, 1, 2, 1],
  shape: [1, 3, 2, 2] as const,
  options: { perImage: true, grad: true as const },
};

const script = `
const { computeLoss, coreAddonLocation } = require('segloss');
const c = ${JSON.stringify(diceCase)};
const r = computeLoss('dice', { logits: Float32Array.from(c.logits), target: Uint8Array.from(c.target), shape: c.shape }, c.options);
console.log(JSON.stringify({ value: r.value, grad: Array.from(r.grad), location: coreAddonLocation() }));
`;

const esmScript = `
import { computeLoss, lossNames } from 'segloss';
import segloss from 'segloss';
const r = computeLoss('dice', { logits: new Float32Array([1, 2, 3, 4]), target: new Uint8Array([0, 1]), shape: [1, 2, 1, 2] });
console.log(JSON.stringify({ value: r.value, lossNames, sameDefault: segloss.computeLoss === computeLoss }));
`;

function run(command: string, args: string[], cwd: string): string {
  return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: 'true' } });
}

describe('npm pack + npm install --ignore-scripts', () => {
  let temp = '';
  let tarball = '';
  let app = '';

  beforeAll(() => {
    temp = fs.mkdtempSync(path.join(os.tmpdir(), 'segloss-pack-'));
    const copy = path.join(temp, 'package');
    fs.mkdirSync(copy);
    for (const entry of PACKED) {
      const from = path.join(packageRoot, entry);
      if (fs.existsSync(from)) fs.cpSync(from, path.join(copy, entry), { recursive: true });
    }
    fs.symlinkSync(path.join(packageRoot, 'node_modules'), path.join(copy, 'node_modules'), 'dir');
    run('npm', ['pack', '--pack-destination', temp], copy); // prepack: build:ts + build:prebuild
    const tarballs = fs.readdirSync(temp).filter((f) => f.endsWith('.tgz'));
    expect(tarballs).toHaveLength(1);
    tarball = path.join(temp, tarballs[0]);
    app = path.join(temp, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    run('npm', ['install', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', tarball], app);
  }, 600_000);

  afterAll(() => {
    if (temp) fs.rmSync(temp, { recursive: true, force: true });
  });

  it('the tarball holds the prebuilt core addon and the compiled JavaScript', () => {
    const files = run('tar', ['tzf', tarball], temp).split('\n');
    expect(files.some((f) => /^package\/prebuilds\/linux-x64\/[^/]+\.node$/.test(f))).toBe(true);
    for (const f of ['lib/index.js', 'lib/index.mjs', 'lib/index.d.ts', 'binding.gyp', 'package.json']) {
      expect(files).toContain(`package/${f}`);
    }
    expect(files.some((f) => f.startsWith('package/build/'))).toBe(false);
    expect(files.some((f) => f.startsWith('package/node_modules/'))).toBe(false);
  });

  it('computes a Dice loss with require() from the prebuild, equal to the local build', () => {
    const out = JSON.parse(run(process.execPath, ['-e', script], app)) as {
      value: number;
      grad: number[];
      location: { path: string; origin: string };
    };
    expect(out.location.origin).toBe('prebuild');
    expect(out.location.path).toMatch(/node_modules\/segloss\/prebuilds\/linux-x64\/[^/]+\.node$/);
    expect(fs.existsSync(path.join(app, 'node_modules', 'segloss', 'build'))).toBe(false);
    const local = computeLoss(
      'dice',
      { logits: Float32Array.from(diceCase.logits), target: Uint8Array.from(diceCase.target), shape: diceCase.shape },
      diceCase.options,
    );
    expect(out.value).toBeGreaterThan(0);
    expect(out.value).toBeCloseTo(local.value, 12);
    expect(out.grad).toEqual(Array.from(local.grad));
  });

  it('works with import', () => {
    const out = JSON.parse(run(process.execPath, ['--input-type=module', '-e', esmScript], app)) as {
      value: number;
      lossNames: string[];
      sameDefault: boolean;
    };
    expect(out.lossNames).toEqual(['cross-entropy', 'focal', 'dice', 'log-cosh-dice', 'jaccard', 'tversky', 'focal-tversky', 'sensitivity-specificity', 'boundary-aware', 'inverseform', 'conditional-boundary']);
    expect(out.sameDefault).toBe(true);
    expect(Number.isFinite(out.value)).toBe(true);
  });

  it('agrees with the local build bit for bit under every CPU kernel build this processor runs', () => {
    const fingerprint = path.join(packageRoot, 'test', 'helpers', 'isa-fingerprint.cjs');
    const local = path.join(packageRoot, 'lib', 'index.js');
    const supported = (
      JSON.parse(execFileSync(process.execPath, [fingerprint, local], { cwd: app, encoding: 'utf8', maxBuffer: 64 << 20 })) as {
        cpu: { supported: string[] };
      }
    ).cpu.supported;
    expect(supported[0]).toBe('sse2');
    for (const isa of supported) {
      const env = { ...process.env, SEGLOSS_CPU_ISA: isa, SEGLOSS_NUM_THREADS: '2' };
      const exec = (module: string) =>
        JSON.parse(execFileSync(process.execPath, [fingerprint, module], { cwd: app, encoding: 'utf8', env, maxBuffer: 64 << 20 })) as {
          cpu: { active: string };
          location: { origin: string };
          results: Record<string, { valueHex: string; gradHex: string }>;
        };
      const prebuilt = exec(path.join(app, 'node_modules', 'segloss'));
      const built = exec(local);
      expect(prebuilt.location.origin).toBe('prebuild');
      expect(prebuilt.cpu.active).toBe(isa);
      expect(built.cpu.active).toBe(isa);
      expect(Object.keys(prebuilt.results).length).toBeGreaterThan(5);
      expect(prebuilt.results).toEqual(built.results);
    }
  }, 120_000);
});

