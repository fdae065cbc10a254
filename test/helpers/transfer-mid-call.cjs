// Transfers (detaches) the caller's output array of an async call while the call runs, then
// forces a GC so the transferred backing store is freed: before issue 11's fix the worker thread
// wrote into that freed memory (a segfault here). Run with --expose-gc; prints one JSON line
// { outcomes: [...] }, one entry per call: 'rejected: <code> <message>' or 'resolved'.
'use strict';

const path = require('node:path');

const segloss = require(path.join(__dirname, '..', '..', 'lib', 'index.js'));

async function transferDuring(start, array) {
  const pending = start();
  structuredClone(array.buffer, { transfer: [array.buffer] }); // the new owner is dropped at once
  global.gc();
  new Float64Array(array.length || 1 << 20).fill(7); // reuse the freed pages
  global.gc();
  try {
    await pending;
    return 'resolved';
  } catch (error) {
    return `rejected: ${error.code} ${error.message}`;
  }
}

async function main() {
  const outcomes = [];
  const side = 1024;
  const mask = new Uint8Array(side * side).fill(1);
  mask[0] = 0;
  for (let i = 0; i < 3; ++i) {
    const out = new Float64Array(mask.length);
    outcomes.push(await transferDuring(() => segloss.distanceTransformAsync(mask, [side, side], { out }), out));
  }
  const [B, C, H, W] = [2, 4, 128, 128];
  const logits = Float32Array.from({ length: B * C * H * W }, (_, i) => Math.sin(i));
  const target = Uint8Array.from({ length: B * H * W }, (_, i) => i % C);
  for (let i = 0; i < 3; ++i) {
    const gradOut = new Float32Array(logits.length);
    const run = () => segloss.computeLossAsync('dice', { logits, target, shape: [B, C, H, W] }, { grad: true, gradOut });
    outcomes.push(await transferDuring(run, gradOut));
  }
  console.log(JSON.stringify({ outcomes }));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
