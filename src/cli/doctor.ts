/**
 * `segloss doctor`: checks the installation and says how to fix what is missing.
 *
 * Checks, one line each: the core addon (where node-gyp-build loads it from: a prebuild or a local
 * build, and a tiny Dice loss through it), libtorch (what scripts/find-libtorch.js finds: source,
 * version, CPU/CUDA, folder), the torch addon (loaded in a child process, since a libtorch mix-up
 * can abort the process that loads it; versions and the folder libtorch was loaded from), CUDA
 * devices, and threads. Exit code 0 when everything works, 1 when something is missing (each
 * failing line is followed by advice).
 */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';

import { computeLoss } from '../compute';
import { coreAddon, coreAddonLocation, packageRoot } from '../native/core';
import { HOW_TO_GET_LIBTORCH, type TorchInfo, torchAddonPath } from '../torch/addon';
import type { Command } from './command';

/** The outcome of one check. */
export interface DoctorCheck {
  /** What was checked: 'core addon', 'libtorch', 'torch addon', 'CUDA', 'threads'. */
  readonly name: string;
  /** 'ok'; 'warn' (works, but could be better); 'fail' (something is missing: exit 1). */
  readonly status: 'ok' | 'warn' | 'fail';
  /** What was found. */
  readonly detail: string;
  /** How to fix it (warn and fail only). */
  readonly advice?: string;
}

/** scripts/find-libtorch.js's result. */
interface FoundLibtorch {
  readonly source: string;
  readonly root: string;
  readonly libDir: string;
  readonly version: string | null;
  readonly cuda: boolean;
  readonly cudaVersion: string | null;
}

type TorchProbe = { ok: true; info: TorchInfo; value: number } | { ok: false; error: string };

interface Scripts {
  findLibtorch(options: { tried: string[] }): FoundLibtorch | null;
  probeTorchAddon(file: string): TorchProbe;
}

// The plain-JS scripts shared with install.js (shipped in the package next to lib/).
function scripts(): Scripts {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const find = require(path.join(packageRoot, 'scripts', 'find-libtorch.js')) as Pick<Scripts, 'findLibtorch'>;
  const probe = require(path.join(packageRoot, 'scripts', 'probe-torch-addon.js')) as Pick<Scripts, 'probeTorchAddon'>;
  /* eslint-enable @typescript-eslint/no-require-imports */
  return { findLibtorch: find.findLibtorch, probeTorchAddon: probe.probeTorchAddon };
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).trim().split('\n')[0];
}

/** Where the core addon loads from, its CPU kernels' instruction set, and a 1×2×2×2 Dice loss through it. */
export function checkCoreAddon(): DoctorCheck {
  const name = 'core addon';
  try {
    const location = coreAddonLocation();
    const build = coreAddon().buildInfo();
    const cpu = coreAddon().cpuEngineInfo();
    const forced = process.env.SEGLOSS_CPU_ISA ? ' (SEGLOSS_CPU_ISA)' : '';
    const logits = Float32Array.from([2, -2, 0, 1, -2, 2, 0, -1]);
    const { value } = computeLoss('dice', { logits, target: Uint8Array.from([0, 1, 0, 0]), shape: [1, 2, 2, 2] });
    if (!Number.isFinite(value)) throw new Error(`a test Dice loss gave ${value}`);
    const origin = location.origin === 'prebuild' ? 'prebuild' : 'local build';
    const kernels = `CPU kernels ${cpu.active}${forced} of ${cpu.supported.join('/')} supported`;
    return {
      name,
      status: 'ok',
      detail: `${origin} ${location.path} (Node-API ${build.napiVersion}, compiler ${build.compiler}, ${kernels})`,
    };
  } catch (error) {
    return {
      name,
      status: 'fail',
      detail: firstLine(error),
      advice: 'reinstall segloss (its prebuild covers linux-x64), or build the core addon: npm run build:core',
    };
  }
}

function describeLibtorch(found: FoundLibtorch): string {
  const kind = found.cuda ? `CUDA ${found.cudaVersion ?? ''}`.trim() : 'CPU';
  return `${found.version ?? 'unknown version'} (${kind}) from ${found.source}: ${found.root}`;
}

/** What scripts/find-libtorch.js finds. */
export function checkLibtorch(): { check: DoctorCheck; found: FoundLibtorch | null } {
  const tried: string[] = [];
  const found = scripts().findLibtorch({ tried });
  if (found) return { check: { name: 'libtorch', status: 'ok', detail: describeLibtorch(found) }, found };
  return {
    check: { name: 'libtorch', status: 'fail', detail: `not found (${tried.join('; ')})`, advice: HOW_TO_GET_LIBTORCH },
    found,
  };
}

/** Loads the torch addon in a child process and runs a tiny loss through it. */
export function checkTorchAddon(found: FoundLibtorch | null): { check: DoctorCheck; info: TorchInfo | null } {
  const name = 'torch addon';
  const file = torchAddonPath();
  const probe = scripts().probeTorchAddon(file);
  if (probe.ok) {
    const { info } = probe;
    const detail = `${file} (built against libtorch ${info.builtAgainst}, loaded ${info.torchVersion} from ${info.libtorchPath})`;
    return { check: { name, status: 'ok', detail }, info };
  }
  const advice = found
    ? `build it against the libtorch found: npm run build:torch (or npm rebuild segloss)`
    : HOW_TO_GET_LIBTORCH;
  return { check: { name, status: 'fail', detail: probe.error, advice }, info: null };
}

// GPU names from nvidia-smi (empty when there is none or no driver).
function gpusOnMachine(): string[] {
  const run = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8', timeout: 10_000 });
  if (run.status !== 0 || !run.stdout) return [];
  return run.stdout.split('\n').filter((line) => line.startsWith('GPU '));
}

/** CUDA devices the torch addon can use, against the GPUs the machine has. */
export function checkCuda(info: TorchInfo | null, found: FoundLibtorch | null): DoctorCheck {
  const name = 'CUDA';
  const gpus = gpusOnMachine();
  if (info?.cudaBuilt && info.cudaDevices > 0) {
    return { name, status: 'ok', detail: `${info.cudaDevices} device(s): ${info.deviceNames.join(', ')}` };
  }
  if (gpus.length > 0) {
    const why = info?.cudaBuilt
      ? 'the torch addon has the CUDA engines but libtorch sees no device'
      : `the torch addon has no CUDA engines (libtorch ${found?.cuda ? 'has CUDA; nvcc was missing at build time?' : 'is CPU-only'})`;
    return {
      name,
      status: 'warn',
      detail: `${gpus.length} GPU(s) on this machine, but ${why}`,
      advice: 'install a CUDA PyTorch (or set LIBTORCH to a CUDA libtorch), make nvcc available, then npm run build:torch',
    };
  }
  return { name, status: 'ok', detail: 'no GPU on this machine; the losses run on the CPU engines' };
}

/** Threads of the CPU engines (SEGLOSS_NUM_THREADS, else every core; native/core/parallel_cpu.h) and of libtorch. */
export function checkThreads(info: TorchInfo | null): DoctorCheck {
  const cpus = os.availableParallelism();
  const requested = Number.parseInt(process.env.SEGLOSS_NUM_THREADS ?? '', 10);
  const core = requested >= 1 ? `${requested} (SEGLOSS_NUM_THREADS)` : `${cpus} (set SEGLOSS_NUM_THREADS to change)`;
  const aten = info ? `; libtorch: ${info.threads} intra-op, ${info.interopThreads} inter-op threads` : '';
  return { name: 'threads', status: 'ok', detail: `${cpus} CPU(s); core engines: up to ${core}${aten}` };
}

/** Every check, in order. */
export function runDoctorChecks(): DoctorCheck[] {
  const core = checkCoreAddon();
  const { check: libtorch, found } = checkLibtorch();
  const { check: torch, info } = checkTorchAddon(found);
  return [core, libtorch, torch, checkCuda(info, found), checkThreads(info)];
}

/** The checks as text lines (status, name, detail; advice indented under it). */
export function formatChecks(checks: readonly DoctorCheck[]): string {
  const lines: string[] = [];
  for (const check of checks) {
    lines.push(`${check.status.padEnd(5)} ${check.name.padEnd(12)} ${check.detail}`);
    if (check.advice) lines.push(`${' '.repeat(19)}→ ${check.advice}`);
  }
  const failed = checks.filter((c) => c.status === 'fail').map((c) => c.name);
  lines.push(failed.length ? `segloss doctor: missing: ${failed.join(', ')}` : 'segloss doctor: everything works');
  return lines.join('\n') + '\n';
}

export const doctorCommand: Command = {
  summary: 'Check the installation: core addon, libtorch, torch addon, CUDA devices, threads',
  usage: '[--json]',
  help: [
    'Options:',
    '  --json   Print the checks as JSON ({ ok, checks: [{ name, status, detail, advice? }] })',
    '',
    'Exit code: 0 when everything works, 1 when something is missing (with advice).',
  ].join('\n'),
  async run(args) {
    const unknown = args.filter((a) => a !== '--json');
    if (unknown.length) {
      process.stderr.write(`segloss doctor: unknown option '${unknown[0]}' (options: --json)\n`);
      return 2;
    }
    const checks = runDoctorChecks();
    const ok = checks.every((c) => c.status !== 'fail');
    if (args.includes('--json')) process.stdout.write(JSON.stringify({ ok, checks }, null, 2) + '\n');
    else process.stdout.write(`segloss doctor (Node ${process.version}, ${process.platform}-${process.arch})\n` + formatChecks(checks));
    return ok ? 0 : 1;
  },
};
