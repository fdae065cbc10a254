'use strict';
// Builds the torch addon (CMakeLists.txt) against the libtorch scripts/find-libtorch.js finds:
//   node scripts/build-torch.js [--clean]        (npm run build:torch)
// Fails loudly (exit 1) when no libtorch or no CMake is found. Uses cmake-js when it is installed
// (a development checkout); otherwise (segloss installed as a dependency, without its
// devDependencies) runs CMake directly with the Node-API headers of this Node.
// Output: build-torch/Release/segloss_torch.node. The libtorch it was built against is recorded
// in build-torch/libtorch.json; a different libtorch (folder or version) next time forces a clean build.

const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { findLibtorch, HOW_TO_GET_LIBTORCH, PACKAGE_ROOT } = require('./find-libtorch');

const BUILD_DIR = path.join(PACKAGE_ROOT, 'build-torch');
const ADDON_PATH = path.join(BUILD_DIR, 'Release', 'segloss_torch.node');
const RECORD_PATH = path.join(BUILD_DIR, 'libtorch.json');

function commandExists(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

// The missing build tools, by name (empty when CMake and a C++ compiler are there).
function missingBuildTools(env = process.env) {
  const missing = [];
  if (!commandExists('cmake')) missing.push('cmake');
  const cxx = env.CXX || 'c++';
  if (!commandExists(cxx) && !commandExists('g++') && !commandExists('clang++')) missing.push('a C++20 compiler');
  return missing;
}

function resolveFrom(request) {
  try {
    return require.resolve(request, { paths: [PACKAGE_ROOT] });
  } catch {
    return null;
  }
}

// Node-API headers for the direct CMake build: node-api-headers if present, else this Node's.
function nodeApiIncludeDir() {
  const pkg = resolveFrom('node-api-headers/package.json');
  if (pkg) return path.join(path.dirname(pkg), 'include');
  const candidates = [path.resolve(path.dirname(process.execPath), '../include/node'), '/usr/include/node'];
  return candidates.find((dir) => fs.existsSync(path.join(dir, 'node_api.h'))) || null;
}

function run(command, args, log) {
  log(`$ ${[command, ...args].join(' ')}`);
  const result = spawnSync(command, args, { cwd: PACKAGE_ROOT, stdio: 'inherit', env: process.env });
  if (result.status !== 0) {
    throw new Error(`${path.basename(command)} failed (exit ${result.status ?? result.signal})`);
  }
}

function cmakeDefines(libtorch) {
  const defines = [`Torch_DIR=${libtorch.torchDir}`];
  if (process.env.SEGLOSS_CUDA) defines.push(`SEGLOSS_CUDA=${process.env.SEGLOSS_CUDA}`);
  return defines;
}

function buildWithCmakeJs(cmakeJs, libtorch, clean, log) {
  const args = [cmakeJs, clean ? 'rebuild' : 'build', '--out', BUILD_DIR, '--parallel', '2'];
  for (const define of cmakeDefines(libtorch)) args.push(`--CD${define}`);
  run(process.execPath, args, log);
}

function buildWithCmake(libtorch, clean, log) {
  const napiInclude = nodeApiIncludeDir();
  const addonApi = resolveFrom('node-addon-api/package.json');
  if (!napiInclude || !addonApi) throw new Error('no Node-API headers found (node-api-headers or <node>/include/node)');
  if (clean) fs.rmSync(BUILD_DIR, { recursive: true, force: true });
  const include = [napiInclude, path.dirname(addonApi)].join(';');
  const configure = ['-S', PACKAGE_ROOT, '-B', BUILD_DIR, '-DCMAKE_BUILD_TYPE=Release',
    `-DCMAKE_LIBRARY_OUTPUT_DIRECTORY=${path.join(BUILD_DIR, 'Release')}`, `-DCMAKE_JS_INC=${include}`];
  for (const define of cmakeDefines(libtorch)) configure.push(`-D${define}`);
  run('cmake', configure, log);
  run('cmake', ['--build', BUILD_DIR, '--parallel', '2'], log);
}

function recordedLibtorch() {
  try {
    return JSON.parse(fs.readFileSync(RECORD_PATH, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Builds build-torch/Release/segloss_torch.node against `libtorch` (a findLibtorch() result).
 * Returns the addon's path; throws when the build fails.
 */
function buildTorchAddon(libtorch, { clean = false, log = (line) => console.log(`segloss: ${line}`) } = {}) {
  const previous = recordedLibtorch();
  const mustClean = clean || !previous || previous.torchDir !== libtorch.torchDir || previous.version !== libtorch.version;
  log(`building the torch addon against libtorch ${libtorch.version} (${libtorch.cuda ? 'CUDA' : 'CPU'}) ` +
    `from ${libtorch.source}: ${libtorch.root}`);
  const cmakeJs = process.env.SEGLOSS_NO_CMAKE_JS ? null : resolveFrom('cmake-js/bin/cmake-js');
  if (cmakeJs) buildWithCmakeJs(cmakeJs, libtorch, mustClean, log);
  else buildWithCmake(libtorch, mustClean, log);
  if (!fs.existsSync(ADDON_PATH)) throw new Error(`the build did not produce ${ADDON_PATH}`);
  fs.writeFileSync(RECORD_PATH, JSON.stringify(libtorch, null, 2) + '\n');
  return ADDON_PATH;
}

module.exports = { buildTorchAddon, missingBuildTools, ADDON_PATH, BUILD_DIR };

if (require.main === module) {
  const tried = [];
  const libtorch = findLibtorch({ tried });
  if (!libtorch) {
    console.error(`segloss: libtorch not found (${tried.join('; ')}).\nsegloss: ${HOW_TO_GET_LIBTORCH}.`);
    process.exit(1);
  }
  const missing = missingBuildTools();
  if (missing.length) {
    console.error(`segloss: cannot build the torch addon: ${missing.join(' and ')} not found.`);
    process.exit(1);
  }
  try {
    const addon = buildTorchAddon(libtorch, { clean: process.argv.includes('--clean') });
    console.log(`segloss: torch addon built: ${path.relative(process.cwd(), addon) || addon}`);
  } catch (error) {
    console.error(`segloss: torch addon build failed: ${error.message}`);
    process.exit(1);
  }
}
