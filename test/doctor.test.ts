// `segloss doctor` and the CLI around it: the lines it prints when everything is there, the exit
// code and advice when libtorch and the torch addon are missing, --json, --help, bad commands; and
// the package's bin (lib/cli/segloss.js, built by `npm run build:ts`) run as a process.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { afterEach, describe, expect, it, vi } from 'vitest';

import { main } from '../src/cli/segloss';
import { torchAvailable } from '../src/torch/index';

const root = path.resolve(__dirname, '..');
const bin = path.join(root, 'lib', 'cli', 'segloss.js');
const version = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
const HOW_TO =
  '→ get libtorch with `python3 -m venv .venv && .venv/bin/pip install torch` (or set LIBTORCH to a libtorch ' +
  'folder, or `apt-get install libtorch-dev`), then run `npm rebuild segloss`';

/** Runs the CLI in this process; returns its exit code and what it wrote. */
async function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('segloss doctor', () => {
  it('prints one line per check: core addon, libtorch, torch addon, CUDA, threads', { timeout: 60_000 }, async () => {
    const torch = torchAvailable();
    const { code, stdout } = await runCli(['doctor']);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`segloss doctor (Node ${process.version}, ${process.platform}-${process.arch})`);
    expect(lines[1]).toMatch(/^ok {4}core addon {3}(prebuild|local build) \/\S+\.node \(Node-API \d+, compiler .+\)$/);
    expect(lines[2]).toMatch(/^ok {4}libtorch {5}\d+\.\d+\.\d+ \((CPU|CUDA[^)]*)\) from (LIBTORCH|Torch_DIR|python:\S+|system): \/\S+$/);
    if (torch) {
      expect(lines[3]).toMatch(
        /^ok {4}torch addon {2}\/\S+segloss_torch\.node \(built against libtorch \d+\.\d+\.\d+, loaded \d+\.\d+\.\d+\S* from \/\S+\)$/,
      );
      expect(lines[4]).toMatch(/^(ok {4}|warn {2})CUDA {9}/);
      expect(lines[5]).toMatch(
        /^ok {4}threads {6}\d+ CPU\(s\); core engines: up to \d+ \((SEGLOSS_NUM_THREADS|set SEGLOSS_NUM_THREADS to change)\); libtorch: \d+ intra-op, \d+ inter-op threads$/,
      );
      expect(lines.at(-1)).toBe('segloss doctor: everything works');
      expect(code).toBe(0);
    } else {
      expect(lines[3]).toMatch(/^fail {2}torch addon {2}/);
      expect(lines.at(-1)).toBe('segloss doctor: missing: torch addon');
      expect(code).toBe(1);
    }
  });

  it('exits 1 with advice when libtorch and the torch addon are missing', { timeout: 60_000 }, async () => {
    vi.stubEnv('SEGLOSS_NUM_THREADS', '');
    vi.stubEnv('LIBTORCH', '/nonexistent');
    vi.stubEnv('SEGLOSS_TORCH_ADDON', '/nonexistent/segloss_torch.node');
    const { code, stdout } = await runCli(['doctor']);
    const lines = stdout.trimEnd().split('\n');
    expect(code).toBe(1);
    expect(lines[1]).toMatch(/^ok {4}core addon {3}/);
    expect(lines.slice(2, 6)).toEqual([
      'fail  libtorch     not found (LIBTORCH: no TorchConfig.cmake in /nonexistent/share/cmake/Torch)',
      `${' '.repeat(19)}${HOW_TO}`,
      'fail  torch addon  not built (no /nonexistent/segloss_torch.node)',
      `${' '.repeat(19)}${HOW_TO}`,
    ]);
    expect(lines[6]).toMatch(/^(ok {4}|warn {2})CUDA {9}/);
    expect(lines[7]).toMatch(/^ok {4}threads {6}\d+ CPU\(s\); core engines: up to \d+ \(set SEGLOSS_NUM_THREADS to change\)$/);
    expect(lines[8]).toBe('segloss doctor: missing: libtorch, torch addon');
  });

  it('reports SEGLOSS_NUM_THREADS', { timeout: 60_000 }, async () => {
    vi.stubEnv('SEGLOSS_NUM_THREADS', '3');
    vi.stubEnv('SEGLOSS_TORCH_ADDON', '/nonexistent/segloss_torch.node');
    const { stdout } = await runCli(['doctor']);
    expect(stdout).toMatch(/^ok {4}threads {6}\d+ CPU\(s\); core engines: up to 3 \(SEGLOSS_NUM_THREADS\)$/m);
  });

  it('--json gives the same checks as data', { timeout: 60_000 }, async () => {
    vi.stubEnv('SEGLOSS_TORCH_ADDON', '/nonexistent/segloss_torch.node');
    const { code, stdout } = await runCli(['doctor', '--json']);
    const report = JSON.parse(stdout) as { ok: boolean; checks: { name: string; status: string; advice?: string }[] };
    expect(code).toBe(1);
    expect(report.ok).toBe(false);
    expect(report.checks.map((c) => c.name)).toEqual(['core addon', 'libtorch', 'torch addon', 'CUDA', 'threads']);
    const torch = report.checks[2];
    expect(torch.status).toBe('fail');
    expect(torch.advice).toMatch(/npm run build:torch|pip install torch/);
  });

  it('rejects unknown options', async () => {
    const { code, stderr } = await runCli(['doctor', '--fast']);
    expect(code).toBe(2);
    expect(stderr).toBe("segloss doctor: unknown option '--fast' (options: --json)\n");
  });
});

describe('segloss CLI', () => {
  it('--help lists the commands', async () => {
    const { code, stdout } = await runCli(['--help']);
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines[0]).toBe(`segloss ${version} — segmentation losses on native C++/CUDA engines`);
    expect(lines).toContain('Usage: segloss <command> [options]');
    expect(lines).toContain(`  ${'doctor'.padEnd(20)}Check the installation: core addon, libtorch, torch addon, CUDA devices, threads`);
    expect(lines).toContain(`  ${'train-inverseform'.padEnd(20)}Train the inverseform loss's inverse-transformation network and write its weights`);
    expect(lines).toContain(`  ${'help'.padEnd(20)}Show this help, or a command's: segloss help <command>`);
  });

  it('doctor --help and help doctor describe the command', async () => {
    const a = await runCli(['doctor', '--help']);
    const b = await runCli(['help', 'doctor']);
    expect(a).toEqual(b);
    expect(a.code).toBe(0);
    expect(a.stdout.split('\n')[0]).toBe('Usage: segloss doctor [--json]');
  });

  it('--version prints the package version', async () => {
    expect(await runCli(['--version'])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('an unknown command exits 2 and lists the commands', async () => {
    const { code, stderr } = await runCli(['trian']);
    expect(code).toBe(2);
    expect(stderr.split('\n')[0]).toBe("segloss: unknown command 'trian' (commands: train, eval, predict, check, sweep, landscape, bench, doctor, train-inverseform, help)");
  });

  it('no command prints the help and exits 2', async () => {
    const { code, stdout } = await runCli([]);
    expect(code).toBe(2);
    expect(stdout).toContain('Usage: segloss <command> [options]');
  });
});

describe('the package bin (lib/cli/segloss.js)', () => {
  it('runs `segloss doctor` as a process', { timeout: 60_000 }, () => {
    expect(fs.existsSync(bin), `${bin} is missing: run npm run build:ts`).toBe(true);
    expect(fs.readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    const run = spawnSync(process.execPath, [bin, 'doctor'], { encoding: 'utf8', cwd: root });
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^segloss doctor \(Node /);
    expect(lines.filter((l) => /^(ok|warn|fail) /.test(l)).map((l) => l.slice(6, 18).trim())).toEqual([
      'core addon',
      'libtorch',
      'torch addon',
      'CUDA',
      'threads',
    ]);
    expect(run.status).toBe(lines.at(-1) === 'segloss doctor: everything works' ? 0 : 1);
  });

  it('is executable itself, as npx and a shell run it (npm run build:ts sets the mode)', () => {
    expect(fs.statSync(bin).mode & 0o111, `${bin} is not executable`).toBe(0o111);
    const run = spawnSync(bin, ['--version'], { encoding: 'utf8', cwd: root });
    expect(run.error).toBeUndefined();
    expect(run.status).toBe(0);
    expect(run.stdout.trim()).toBe(JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version);
  });
});
