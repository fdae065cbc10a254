// The CPU engine's kernels are built for SSE2, AVX2 and AVX-512 (native/core/tile_kernels_*.cpp)
// and chosen at load (native/core/cpu_isa.h, SEGLOSS_CPU_ISA): every build this processor runs
// gives the same losses (to float32 rounding; float64 to 1e-12), a forced unsupported or unknown
// one is a clear error, and the per-ISA object files share no inline code with the rest of the
// addon (so a prebuilt binary runs on any x86-64). The prebuilt binary's bit-for-bit agreement
// with the local build under each ISA is in pack.test.ts.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { cpuEngineInfo } from '../src';
import { packageRoot } from '../src/native/core';

const fingerprint = path.join(packageRoot, 'test', 'helpers', 'isa-fingerprint.cjs');
const lib = path.join(packageRoot, 'lib', 'index.js');

interface Fingerprint {
  cpu: { active: string; supported: string[] };
  results: Record<string, { value: number; grad: number[] }>;
}

function fingerprintUnder(isa: string): Fingerprint {
  const out = execFileSync(process.execPath, [fingerprint, lib], {
    encoding: 'utf8',
    env: { ...process.env, SEGLOSS_CPU_ISA: isa },
    maxBuffer: 64 << 20,
  });
  return JSON.parse(out) as Fingerprint;
}

describe('CPU kernels per instruction set', () => {
  it('reports the kernels in use: the best supported one by default', () => {
    const info = cpuEngineInfo();
    expect(info.supported[0]).toBe('sse2');
    expect(info.supported).toContain(info.active);
    if (!process.env.SEGLOSS_CPU_ISA) expect(info.active).toBe(info.supported.at(-1));
    expect(info.threads).toBeGreaterThanOrEqual(1);
  });

  it('gives the same values and gradients under every supported build', { timeout: 60_000 }, () => {
    const supported = cpuEngineInfo().supported;
    const reference = fingerprintUnder('sse2');
    expect(reference.cpu.active).toBe('sse2');
    for (const isa of supported.slice(1)) {
      const other = fingerprintUnder(isa);
      expect(other.cpu.active).toBe(isa);
      for (const [name, ref] of Object.entries(reference.results)) {
        const got = other.results[name];
        const f64 = name.includes('f64');
        const tol = f64 ? 1e-12 : 2e-6;
        expect(Math.abs(got.value - ref.value), `${isa} ${name} value`).toBeLessThanOrEqual(tol * Math.abs(ref.value));
        const scale = Math.max(...ref.grad.map(Math.abs));
        const worst = Math.max(...ref.grad.map((g, i) => Math.abs(got.grad[i] - g)));
        expect(worst, `${isa} ${name} grad`).toBeLessThanOrEqual((f64 ? 1e-12 : 2e-5) * scale);
      }
    }
  });

  it('rejects an unknown or unsupported SEGLOSS_CPU_ISA with a clear error', () => {
    const script = `
      const { computeLoss } = require(${JSON.stringify(lib)});
      try { computeLoss('dice', { logits: new Float32Array(4), target: new Uint8Array(2), shape: [1, 2, 1, 2] }); console.log('no error'); }
      catch (e) { console.log(e.name + ': ' + e.message); }`;
    const run = (isa: string) =>
      spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, SEGLOSS_CPU_ISA: isa } }).stdout.trim();
    expect(run('avx9')).toBe('RangeError: SEGLOSS_CPU_ISA=avx9 is not one of sse2, avx2, avx512');
    const all = ['sse2', 'avx2', 'avx512'] as const;
    for (const isa of all.filter((i) => !cpuEngineInfo().supported.includes(i))) {
      expect(run(isa)).toBe(`RangeError: SEGLOSS_CPU_ISA=${isa}: this processor does not support it`);
    }
  });

  it('per-ISA kernel objects define no shared inline code outside their own namespace', (ctx) => {
    const objects = ['sse2', 'avx2', 'avx512'].map((isa) => ({
      isa,
      file: [
        path.join(packageRoot, 'build', 'Release', 'obj.target', 'segloss_core', 'native', 'core', `tile_kernels_${isa}.o`),
        path.join(packageRoot, 'build', 'Release', 'obj.target', `segloss_kernels_${isa}`, 'native', 'core', `tile_kernels_${isa}.o`),
      ].find((f) => fs.existsSync(f)),
    }));
    const nm = spawnSync('nm', ['--version']);
    if (nm.status !== 0 || objects.some((o) => !o.file)) ctx.skip('needs nm and a local build of the core addon (npm run build:core)');
    for (const { isa, file } of objects) {
      const symbols = execFileSync('nm', ['-C', '--defined-only', file as string], { encoding: 'utf8' }).split('\n');
      const weak = symbols.filter((line) => / [WVu] /.test(line) && !line.includes(`segloss::isa_${isa}::`));
      expect(weak, `${isa}: weak symbols another object could bind to`).toEqual([]);
      expect(symbols.some((line) => line.includes(`T segloss::isa_${isa}::runTiles`))).toBe(true);
    }
  });
});
