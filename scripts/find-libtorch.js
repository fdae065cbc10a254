'use strict';
// Finds the libtorch the torch addon builds against, in this order (DESIGN.md):
//   1. LIBTORCH (a libtorch root: include/, lib/, share/cmake/Torch) or Torch_DIR (its CMake folder);
//   2. a Python torch install: $SEGLOSS_PYTHON, ./.venv/bin/python (package root, then the
//      directory npm was run from), python3 — torch.utils.cmake_prefix_path, version, CUDA;
//   3. the system: Debian's libtorch-dev (/usr/lib/<triplet>/cmake/Torch) and the usual prefixes.
// The first that is complete wins; nothing is ever mixed from two installs.
//
// Returns { source, cmakePrefix, torchDir, root, libDir, includeDir, version, cuda, cudaVersion }:
//   source      'LIBTORCH' | 'Torch_DIR' | 'python:<interpreter>' | 'system'
//   cmakePrefix folder holding Torch/TorchConfig.cmake's parent (what CMAKE_PREFIX_PATH wants)
//   torchDir    folder holding TorchConfig.cmake (what Torch_DIR wants)
//   root        install prefix (TORCH_INSTALL_PREFIX); libDir its library folder
//   version     e.g. '2.13.0' (from the headers, or Python's torch.__version__ sans local tag)
//   cuda        whether the install has CUDA libraries (libtorch_cuda); cudaVersion or null
// or null when none is found. CLI: `node scripts/find-libtorch.js [--json]`.

const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const PACKAGE_ROOT = path.resolve(__dirname, '..');

// One line that says how to get libtorch (install.js, build-torch.js, doctor and the TS error).
const HOW_TO_GET_LIBTORCH =
  'get libtorch with `python3 -m venv .venv && .venv/bin/pip install torch` (or set LIBTORCH to a ' +
  'libtorch folder, or `apt-get install libtorch-dev`), then run `npm rebuild segloss`';

const SYSTEM_TORCH_DIRS = [
  '/usr/lib/x86_64-linux-gnu/cmake/Torch',
  '/usr/lib/aarch64-linux-gnu/cmake/Torch',
  '/usr/lib/cmake/Torch',
  '/usr/lib64/cmake/Torch',
  '/usr/local/lib/cmake/Torch',
  '/usr/share/cmake/Torch',
];

function isFile(p) {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function readText(p) {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return null;
  }
}

// TORCH_VERSION from the headers: 2.x has torch/headeronly/version.h, 1.13 the api header.
function headerVersion(includeDir) {
  const candidates = [
    path.join(includeDir, 'torch/headeronly/version.h'),
    path.join(includeDir, 'torch/csrc/api/include/torch/version.h'),
  ];
  for (const file of candidates) {
    const text = readText(file);
    const match = text && /#define\s+TORCH_VERSION\s*\\?\s*"([^"]+)"/.exec(text);
    if (match) return match[1];
  }
  return null;
}

// The lib folder that holds libtorch.so (a wheel/zip: <root>/lib; Debian: <root>/lib/<triplet>).
function findLibDir(root, torchDir) {
  const candidates = [path.join(root, 'lib'), path.resolve(torchDir, '../..'), path.resolve(torchDir, '../../..')];
  for (const dir of candidates) {
    if (fs.existsSync(dir) && fs.readdirSync(dir).some((f) => /^libtorch\.so(\.|$)/.test(f))) return dir;
  }
  return null;
}

function hasLibrary(libDir, name) {
  return fs.readdirSync(libDir).some((f) => f === `lib${name}.so` || f.startsWith(`lib${name}.so.`));
}

// The TorchConfig.cmake prefix computation: wheels/zips sit 3 levels below the root, Debian 4.
function installRoot(torchDir) {
  const three = path.resolve(torchDir, '../../..');
  if (fs.existsSync(path.join(three, 'include/ATen'))) return three;
  const four = path.resolve(torchDir, '../../../..');
  if (fs.existsSync(path.join(four, 'include/ATen'))) return four;
  return null;
}

// A complete install described from its CMake folder, or { error } saying what is missing.
function describeTorchDir(torchDir, source, extra = {}) {
  torchDir = path.resolve(torchDir);
  if (!isFile(path.join(torchDir, 'TorchConfig.cmake'))) {
    return { error: `${source}: no TorchConfig.cmake in ${torchDir}` };
  }
  const root = installRoot(torchDir);
  if (!root) return { error: `${source}: no include/ATen next to ${torchDir}` };
  const libDir = findLibDir(root, torchDir);
  if (!libDir) return { error: `${source}: no libtorch.so near ${torchDir}` };
  const includeDir = path.join(root, 'include');
  const cuda = hasLibrary(libDir, 'torch_cuda');
  return {
    source,
    cmakePrefix: path.dirname(torchDir),
    torchDir,
    root,
    libDir,
    includeDir,
    version: extra.version || headerVersion(includeDir),
    cuda,
    cudaVersion: cuda ? extra.cudaVersion || null : null,
    ...(extra.python ? { python: extra.python } : {}),
  };
}

function fromLibtorchEnv(env) {
  if (env.LIBTORCH) return describeTorchDir(path.join(env.LIBTORCH, 'share/cmake/Torch'), 'LIBTORCH');
  if (env.Torch_DIR) return describeTorchDir(env.Torch_DIR, 'Torch_DIR');
  return null;
}

const PYTHON_PROBE = [
  'import json, torch, torch.utils',
  'print(json.dumps({"prefix": torch.utils.cmake_prefix_path, "version": torch.__version__,',
  ' "cuda": torch.version.cuda}))',
].join('\n');

// Asks one interpreter about its torch; null when it has none.
function probePython(python, env) {
  const run = spawnSync(python, ['-c', PYTHON_PROBE], { encoding: 'utf8', env, timeout: 120000 });
  if (run.status !== 0 || !run.stdout) return null;
  try {
    return JSON.parse(run.stdout.trim().split('\n').pop());
  } catch {
    return null;
  }
}

function pythonCandidates(env) {
  const list = [];
  if (env.SEGLOSS_PYTHON) list.push(env.SEGLOSS_PYTHON);
  for (const dir of [PACKAGE_ROOT, env.INIT_CWD, process.cwd()]) {
    if (dir) list.push(path.join(dir, '.venv/bin/python'));
  }
  list.push('python3');
  return [...new Set(list)].filter((p) => p === 'python3' || p === env.SEGLOSS_PYTHON || isFile(p));
}

function fromPython(env, tried) {
  for (const python of pythonCandidates(env)) {
    const torch = probePython(python, env);
    if (!torch) {
      tried.push(`python ${python}: no importable torch`);
      continue;
    }
    const found = describeTorchDir(path.join(torch.prefix, 'Torch'), `python:${python}`, {
      version: String(torch.version).split('+')[0],
      cudaVersion: torch.cuda,
      python,
    });
    if (!found.error) return found;
    tried.push(found.error);
  }
  return null;
}

function fromSystem(tried) {
  for (const dir of SYSTEM_TORCH_DIRS) {
    if (!fs.existsSync(dir)) continue;
    const found = describeTorchDir(dir, 'system');
    if (!found.error) return found;
    tried.push(found.error);
  }
  tried.push('system: no libtorch-dev');
  return null;
}

/**
 * Finds libtorch (see the file comment for the order). `tried` collects why candidates failed.
 * An explicit LIBTORCH / Torch_DIR that is broken is not skipped over: it yields null.
 */
function findLibtorch({ env = process.env, tried = [] } = {}) {
  const explicit = fromLibtorchEnv(env);
  if (explicit) {
    if (explicit.error) {
      tried.push(explicit.error);
      return null;
    }
    return explicit;
  }
  return fromPython(env, tried) || fromSystem(tried);
}

module.exports = { findLibtorch, HOW_TO_GET_LIBTORCH, PACKAGE_ROOT, headerVersion };

if (require.main === module) {
  const tried = [];
  const found = findLibtorch({ tried });
  if (process.argv.includes('--json')) {
    process.stdout.write(JSON.stringify(found) + '\n');
  } else if (found) {
    console.log(`libtorch ${found.version} (${found.cuda ? `CUDA ${found.cudaVersion || ''}`.trim() : 'CPU'}) ` +
      `from ${found.source}: ${found.root}`);
  } else {
    console.log(`libtorch not found (${tried.join('; ')}): ${HOW_TO_GET_LIBTORCH}`);
  }
  process.exitCode = found ? 0 : 1;
}
