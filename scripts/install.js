'use strict';
// segloss's `install` script. Never fails the install because of an addon:
//   core addon  — node-gyp-build finds the prebuild (prebuilds/) or a local build; only when
//                 neither loads does this build it with node-gyp (needs a compiler), else warns.
//   torch addon — if an existing build loads (checked in a child process), done; else if libtorch,
//                 CMake and a compiler are found, build it (scripts/build-torch.js); else print ONE
//                 line saying how to get libtorch. The torch API then throws the same advice.
// SEGLOSS_SKIP_TORCH=1 skips the torch addon.

const path = require('path');
const { spawnSync } = require('child_process');

const PACKAGE_ROOT = path.resolve(__dirname, '..');

function say(line) {
  console.log(`segloss: ${line}`);
}

// Whether node-gyp-build finds a core addon that loads (in a child process).
function coreAddonLoads() {
  const check = `require('node-gyp-build')(${JSON.stringify(PACKAGE_ROOT)})`;
  return spawnSync(process.execPath, ['-e', check], { cwd: PACKAGE_ROOT, stdio: 'ignore' }).status === 0;
}

function ensureCoreAddon() {
  if (coreAddonLoads()) return;
  say('no prebuilt core addon loads here; building it with node-gyp');
  let nodeGyp;
  try {
    nodeGyp = require.resolve('node-gyp/bin/node-gyp.js', { paths: [PACKAGE_ROOT] });
  } catch {
    nodeGyp = null;
  }
  const result = nodeGyp
    ? spawnSync(process.execPath, [nodeGyp, 'rebuild'], { cwd: PACKAGE_ROOT, stdio: 'inherit' })
    : spawnSync('npx', ['--no-install', 'node-gyp', 'rebuild'], { cwd: PACKAGE_ROOT, stdio: 'inherit' });
  if (result.status !== 0 || !coreAddonLoads()) {
    say('the core addon could not be built (a C++20 compiler and Python are needed); computeLoss will not work');
  }
}

function ensureTorchAddon() {
  if (process.env.SEGLOSS_SKIP_TORCH) return;
  // Required here, not at the top: a broken helper must not stop the install.
  const { findLibtorch, HOW_TO_GET_LIBTORCH } = require('./find-libtorch');
  const { probeTorchAddon, DEFAULT_ADDON } = require('./probe-torch-addon');
  const existing = probeTorchAddon(DEFAULT_ADDON);
  if (existing.ok) return;
  const libtorch = findLibtorch();
  if (!libtorch) {
    say(`torch addon not built (libtorch not found): to use the torch API, ${HOW_TO_GET_LIBTORCH}`);
    return;
  }
  const { buildTorchAddon, missingBuildTools } = require('./build-torch');
  const missing = missingBuildTools();
  if (missing.length) {
    say(`torch addon not built (${missing.join(' and ')} not found; libtorch ${libtorch.version} is at ${libtorch.root})`);
    return;
  }
  try {
    buildTorchAddon(libtorch, { log: say });
    const built = probeTorchAddon(DEFAULT_ADDON);
    say(built.ok ? `torch addon ready (libtorch ${built.info.torchVersion})` : `torch addon built but does not load: ${built.error}`);
  } catch (error) {
    say(`torch addon not built (${error.message}); the torch API will say how to fix it`);
  }
}

function main() {
  try {
    ensureCoreAddon();
  } catch (error) {
    say(`core addon check failed: ${error.message.split('\n')[0]}`);
  }
  try {
    ensureTorchAddon();
  } catch (error) {
    say(`torch addon step failed: ${error.message.split('\n')[0]}`);
  }
}

if (require.main === module) {
  main();
  process.exitCode = 0;
}

module.exports = { main };
