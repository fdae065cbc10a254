'use strict';
// Checks, in a child process, that the torch addon loads and computes: a libtorch mix-up can abort
// the process that loads it, so install.js and `segloss doctor` never load it in their own.
//   node scripts/probe-torch-addon.js [addon.node]   → one JSON line, exit 0 when it works
// probeTorchAddon(file) → { ok: true, info, value } | { ok: false, error }

const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const PACKAGE_ROOT = path.resolve(__dirname, '..');
const DEFAULT_ADDON = path.join(PACKAGE_ROOT, 'build-torch', 'Release', 'segloss_torch.node');

// 0.5·Dice + 0.5·CE on a 1×2×2×2 batch, as the resolved request of native/addon/loss_request.h.
function smokeTest(addon) {
  const common = { activation: 'softmax', ignoreIndex: null };
  const dice = {
    id: 'dice', weight: 0.5, ...common, perImage: false, includeBackground: true, smooth: 1e-5, squared: false,
    logLoss: false, denominatorClamp: 0, zeroAbsentClasses: false, offset: 1,
  };
  const ce = { id: 'cross-entropy', weight: 0.5, ...common, classWeights: null, labelSmoothing: 0 };
  const logits = Float32Array.from([1, -1, 0.5, 0, -1, 1, 0, 0.5]);
  const target = Uint8Array.from([0, 1, 0, 1]);
  const out = addon.lossBackward(logits, target, [1, 2, 2, 2], { terms: [dice, ce], gradScale: 1 }, 'cpu', true);
  if (!Number.isFinite(out.value) || !(out.grad instanceof Float32Array)) throw new Error('the smoke test failed');
  return out.value;
}

function runChild(file) {
  try {
    const addon = require(file);
    const info = addon.info();
    const value = smokeTest(addon);
    process.stdout.write(JSON.stringify({ ok: true, info, value }) + '\n');
  } catch (error) {
    process.stdout.write(JSON.stringify({ ok: false, error: String(error.message || error).split('\n')[0] }) + '\n');
    process.exitCode = 1;
  }
}

/** Loads `file` in a child Node process; never throws. */
function probeTorchAddon(file = DEFAULT_ADDON, { timeoutMs = 120000 } = {}) {
  if (!fs.existsSync(file)) return { ok: false, error: `not built (no ${file})` };
  const child = spawnSync(process.execPath, [__filename, file], { encoding: 'utf8', timeout: timeoutMs });
  const line = (child.stdout || '').trim().split('\n').pop();
  try {
    const parsed = JSON.parse(line);
    if (typeof parsed.ok === 'boolean') return parsed;
  } catch {
    // fall through: the child died before printing
  }
  const how = child.signal ? `killed by ${child.signal}` : `exit ${child.status}`;
  const stderr = (child.stderr || '').trim().split('\n').filter(Boolean).pop() || '';
  return { ok: false, error: `loading it crashed the process (${how})${stderr ? `: ${stderr}` : ''}` };
}

module.exports = { probeTorchAddon, DEFAULT_ADDON };

if (require.main === module) runChild(path.resolve(process.argv[2] || DEFAULT_ADDON));
