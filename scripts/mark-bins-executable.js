#!/usr/bin/env node
// Marks every file named in package.json's "bin" executable (mode 755). tsc writes them 644; npm
// only sets the bit when it links a bin, and `npx segloss` run from the project's root reuses an
// earlier link in npm's npx cache without setting it again, so a fresh build must do it itself.
// Run after tsc (npm run build:ts).
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const { bin } = require(path.join(root, 'package.json'));
const files = typeof bin === 'string' ? [bin] : Object.values(bin ?? {});
for (const file of files) {
  const full = path.join(root, file);
  fs.chmodSync(full, 0o755);
  console.log(`mark-bins-executable: ${file}`);
}
