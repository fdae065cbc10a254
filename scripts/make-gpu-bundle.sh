#!/usr/bin/env bash
# Packs what scripts/gpu-check.sh needs on a GPU machine that has no network and maybe no Node, into
# .gpu-bundle/ (gitignored), to be carried there next to the working tree:
#   node.xz              this machine's Node binary, xz -6 (reused while the binary is unchanged);
#   node_modules.tar.xz  exactly the installed packages the GPU check needs: the closure of the
#                        runtime dependencies (dependencies, installed optionalDependencies, required
#                        peerDependencies) of vitest, cmake-js, node-addon-api, node-api-headers and
#                        node-gyp-build, resolved as Node resolves them (nested node_modules included),
#                        plus the node_modules/.bin links into them;
#   lib.tar.xz           lib/, freshly built (npm run build:ts);
#   MANIFEST             versions, the packages, the sizes, and a hash of the sources of lib/
#                        (gpu-check.sh warns when the tree's sources no longer match it).
# Fails when the three archives together exceed 60 MiB (the carry limit is 64 MiB with the tree).
#
#   bash scripts/make-gpu-bundle.sh          (here, after npm install; then the device call in
#                                             the header of scripts/gpu-check.sh)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT="$ROOT/.gpu-bundle"
LIMIT_BYTES=$((60 * 1024 * 1024))
ROOT_PACKAGES=(vitest cmake-js node-addon-api node-api-headers node-gyp-build)

say() { echo "make-gpu-bundle: $*"; }
die() { echo "make-gpu-bundle: $*" >&2; exit 1; }
human() { awk -v b="$1" 'BEGIN { if (b < 1048576) printf "%.0f KiB", b / 1024; else printf "%.1f MiB", b / 1048576 }'; }

NODE=$(command -v node) || die "no node on PATH"
NODE=$(readlink -f "$NODE")
command -v xz >/dev/null 2>&1 || die "no xz"
[[ -d node_modules ]] || die "no node_modules: run npm install first"

mkdir -p "$OUT"
STAGE=$(mktemp -d "$OUT/.stage.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT

# Hash of what lib/ is built from; gpu-check.sh computes the same on the device.
src_hash() {
  (cd "$ROOT" && find src tsconfig.json scripts/write-esm-wrapper.js -type f -print0 | LC_ALL=C sort -z \
    | xargs -0 sha256sum | sha256sum | cut -c1-16)
}

# --- lib/ ------------------------------------------------------------------------------------------
SRC_HASH=$(src_hash)   # before the build: an edit during it makes the device warn rather than miss it
say "building lib/ (npm run build:ts) ..."
nice -n 10 npm run --silent build:ts || die "npm run build:ts failed"
[[ -f lib/index.js ]] || die "npm run build:ts wrote no lib/index.js"
tar -C "$ROOT" --owner=0 --group=0 --numeric-owner -cf - lib | nice -n 10 xz -6 -T1 > "$STAGE/lib.tar.xz"
mv "$STAGE/lib.tar.xz" "$OUT/lib.tar.xz"

# --- node_modules: the closure ---------------------------------------------------------------------
say "computing the dependency closure of ${ROOT_PACKAGES[*]} ..."
node - "$STAGE/files" "$STAGE/packages" "${ROOT_PACKAGES[@]}" <<'EOF'
'use strict';
const fs = require('fs');
const path = require('path');
const [filesOut, packagesOut, ...roots] = process.argv.slice(2);
const root = process.cwd();

const readPkg = (dir) => JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
const isPkg = (dir) => fs.existsSync(path.join(dir, 'package.json'));

// Node's lookup: <dir>/node_modules/<name> from the requiring package's folder up to the root,
// skipping folders that are themselves called node_modules.
function resolveDep(fromDir, name) {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    if (path.basename(dir) !== 'node_modules') {
      const candidate = path.join(dir, 'node_modules', name);
      if (isPkg(candidate)) return candidate;
    }
    if (dir === root || dir === path.dirname(dir)) return null;
  }
}

const packages = new Map(); // absolute folder -> name@version
const missing = [];
const queue = [];
for (const name of roots) {
  const dir = resolveDep(root, name);
  if (!dir) { console.error(`make-gpu-bundle: ${name} is not installed in node_modules`); process.exit(1); }
  queue.push(dir);
}
while (queue.length) {
  const dir = queue.pop();
  if (packages.has(dir)) continue;
  const pkg = readPkg(dir);
  packages.set(dir, `${pkg.name}@${pkg.version}`);
  const optionalPeers = new Set(Object.entries(pkg.peerDependenciesMeta || {}).filter(([, m]) => m && m.optional).map(([n]) => n));
  const wanted = [
    ...Object.keys(pkg.dependencies || {}).map((n) => [n, 'required']),
    ...Object.keys(pkg.optionalDependencies || {}).map((n) => [n, 'optional']),
    // Optional peers (@types/node, jsdom, ...) only matter to whoever installs them: left out.
    ...Object.keys(pkg.peerDependencies || {}).filter((n) => !optionalPeers.has(n)).map((n) => [n, 'required']),
  ];
  for (const [name, kind] of wanted) {
    const found = resolveDep(dir, name);
    if (found) queue.push(found);
    else if (kind === 'required') missing.push(`${name} (needed by ${pkg.name})`);
  }
}
if (missing.length) {
  console.error(`make-gpu-bundle: not installed: ${[...new Set(missing)].join(', ')}`);
  process.exit(1);
}

// Files: each package folder without its own node_modules/ (nested packages come in only when they
// are in the closure), the folders above them, and the .bin links that point into the closure.
const entries = new Set();
const rel = (p) => path.relative(root, p);
const addParents = (p) => {
  for (let dir = path.dirname(p); dir !== root && dir.startsWith(root); dir = path.dirname(dir)) entries.add(rel(dir));
};
function walk(dir, isPackageTop) {
  entries.add(rel(dir));
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (isPackageTop && entry.name === 'node_modules') continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full, false);
    else entries.add(rel(full)); // files and symlinks (kept as links)
  }
}
let bytes = 0;
const du = (dir, isPackageTop) => {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (isPackageTop && entry.name === 'node_modules') continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) du(full, false);
    else if (entry.isFile()) bytes += fs.statSync(full).size;
  }
};
for (const dir of packages.keys()) { addParents(dir); walk(dir, true); du(dir, true); }
// The .bin folder beside a package: <...>/node_modules/.bin for <...>/node_modules/[@scope/]name.
const binDirs = [...new Set([...packages.keys()].map((dir) => {
  const at = dir.lastIndexOf(`${path.sep}node_modules${path.sep}`);
  return path.join(dir.slice(0, at), 'node_modules', '.bin');
}))];
let links = 0;
for (const binDir of binDirs) {
  if (!fs.existsSync(binDir)) continue;
  for (const name of fs.readdirSync(binDir)) {
    const link = path.join(binDir, name);
    let target;
    try { target = fs.realpathSync(link); } catch { continue; }
    if ([...packages.keys()].some((dir) => target.startsWith(dir + path.sep))) {
      addParents(link); entries.add(rel(link)); links++;
    }
  }
}
fs.writeFileSync(filesOut, [...entries].sort().join('\0') + '\0');
fs.writeFileSync(packagesOut, [...packages.entries()].map(([dir, id]) => `${id}\t${rel(dir)}`).sort().join('\n') + '\n');
console.error(`make-gpu-bundle: ${packages.size} packages, ${links} .bin links, ${(bytes / 1048576).toFixed(1)} MiB unpacked`);
EOF
say "packing node_modules.tar.xz ..."
tar -C "$ROOT" --owner=0 --group=0 --numeric-owner --no-recursion --null -T "$STAGE/files" -cf - \
  | nice -n 10 xz -6 -T1 > "$STAGE/node_modules.tar.xz"
mv "$STAGE/node_modules.tar.xz" "$OUT/node_modules.tar.xz"

# --- Node --------------------------------------------------------------------------------------------
NODE_VERSION=$("$NODE" --version)
NODE_STAMP="$NODE_VERSION $(stat -c '%s %Y' "$NODE") $NODE"
if [[ -f "$OUT/node.xz" && -f "$OUT/node.stamp" && "$(cat "$OUT/node.stamp")" == "$NODE_STAMP" ]]; then
  say "node.xz: reusing the packed $NODE ($NODE_VERSION)"
else
  say "packing $NODE ($NODE_VERSION) into node.xz (about a minute) ..."
  nice -n 10 xz -6 -T1 -c "$NODE" > "$STAGE/node.xz"
  mv "$STAGE/node.xz" "$OUT/node.xz"
  echo "$NODE_STAMP" > "$OUT/node.stamp"
fi

# --- sizes, manifest -------------------------------------------------------------------------------
size() { stat -c %s "$1"; }
S_NODE=$(size "$OUT/node.xz"); S_MODULES=$(size "$OUT/node_modules.tar.xz"); S_LIB=$(size "$OUT/lib.tar.xz")
TOTAL=$((S_NODE + S_MODULES + S_LIB))
TREE=$( (git ls-files -z --cached --others --exclude-standard 2>/dev/null || true) \
  | (cd "$ROOT" && xargs -0 -r stat -c %s 2>/dev/null || true) | awk '{ s += $1 } END { print s + 0 }')
{
  echo "made $(date -u +%Y-%m-%dT%H:%M:%SZ) from $(git rev-parse --short HEAD 2>/dev/null || echo '?') by scripts/make-gpu-bundle.sh"
  echo "node $NODE_VERSION ($NODE)"
  echo "src-hash $SRC_HASH"
  echo "sizes node.xz=$S_NODE node_modules.tar.xz=$S_MODULES lib.tar.xz=$S_LIB total=$TOTAL"
  echo "packages:"
  sed 's/^/  /' "$STAGE/packages"
} > "$OUT/MANIFEST"

say "node.xz             $(human "$S_NODE")"
say "node_modules.tar.xz $(human "$S_MODULES") ($(wc -l < "$STAGE/packages") packages)"
say "lib.tar.xz          $(human "$S_LIB")"
say "total               $(human "$TOTAL") (limit $(human "$LIMIT_BYTES")); the working tree adds $(human "$TREE")"
if (( TOTAL > LIMIT_BYTES )); then
  die "the bundle is $(human "$TOTAL"), over $(human "$LIMIT_BYTES")"
fi
if (( TOTAL + TREE > 64 * 1024 * 1024 )); then
  die "bundle + working tree = $(human $((TOTAL + TREE))), over the 64 MiB carry limit"
fi
say "done: carry [\".gpu-bundle\"] and run  bash scripts/gpu-check.sh --copy-to \"\$OUT\""
