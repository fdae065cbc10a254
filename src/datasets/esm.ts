/**
 * Loading the readers that ship as ES modules only (h5wasm, fast-png, nifti-reader-js) from this
 * CommonJS build. Their package `exports` offer only an `import` entry, which `require(name)`
 * refuses, and TypeScript compiles `import()` to `require()` under "module": "commonjs"; so the
 * entry file is found from the package's own `exports` and loaded with `require(file)`, which
 * Node ≥ 20.19 does for ES modules (require(esm), without top-level await).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

type ExportsEntry = string | { import?: string; default?: string; node?: string } | undefined;

/** The file an ES-module-only package exports for `subpath` ('.' or './node'). */
export function esmEntryFile(pkg: string, subpath = '.'): string {
  for (const base of require.resolve.paths(pkg) ?? []) {
    const dir = path.join(base, pkg);
    const manifest = path.join(dir, 'package.json');
    if (!fs.existsSync(manifest)) continue;
    const json = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { exports?: Record<string, ExportsEntry> | string; module?: string; main?: string };
    const exports = json.exports;
    let entry: ExportsEntry = typeof exports === 'string' ? (subpath === '.' ? exports : undefined) : exports?.[subpath];
    if (typeof entry === 'object') entry = entry.import ?? entry.default;
    const file = entry ?? (subpath === '.' ? (json.module ?? json.main) : undefined);
    if (!file) throw new Error(`${manifest} exports no '${subpath}'`);
    return path.join(dir, file);
  }
  throw new Error(`the package ${pkg} is not installed (npm install)`);
}

const loaded = new Map<string, unknown>();

/** The module `pkg` (optionally its `subpath` export), loaded once. */
export async function importEsm<T>(pkg: string, subpath = '.'): Promise<T> {
  const key = `${pkg}:${subpath}`;
  if (!loaded.has(key)) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded.set(key, require(esmEntryFile(pkg, subpath)));
  }
  return loaded.get(key) as T;
}
