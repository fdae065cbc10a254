// No input may crash, hang or corrupt the process: a battery of hostile arguments (throwing
// proxies and getters, detached and shared buffers, lying lengths, huge shapes, prototype
// pollution attempts, raw calls into the addon) runs against the built package in a child
// process, which must exit 0 with every call answered by a value or an Error of a known code.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..');
const battery = path.join(__dirname, 'helpers', 'hostile-battery.cjs');

describe('hostile inputs', () => {
  it('never crash, hang or corrupt the process', () => {
    expect(fs.existsSync(path.join(root, 'lib', 'index.js')), 'lib/ is missing: run `npm run build:ts`').toBe(true);
    const child = spawnSync(process.execPath, [battery], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    expect(child.signal, child.stderr).toBeNull();
    expect(child.status, child.stderr).toBe(0);
    const lines = child.stdout.trim().split('\n');
    const summary = JSON.parse(lines[lines.length - 1]) as {
      calls: number;
      values: number;
      errors: number;
      byCode: Record<string, number>;
      problems: string[];
    };
    expect(summary.problems).toEqual([]);
    expect(summary.calls).toBeGreaterThan(3000);
    expect(summary.values).toBeGreaterThan(50);
    expect(summary.byCode.SEGLOSS_INVALID_ARGUMENT).toBeGreaterThan(500);
    expect(summary.byCode.SEGLOSS_NATIVE).toBeGreaterThan(500);
  }, 180_000);
});
