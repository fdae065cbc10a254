// Starts workers that queue long async loss and distance-transform calls and terminates them while
// the calls run (the worker's Node-API environment is torn down under an in-flight AsyncWorker),
// then checks the main thread still computes. Prints 'ok <value>'; a crash is a non-zero exit.
'use strict';

const path = require('node:path');
const { Worker } = require('node:worker_threads');

const segloss = require(path.join(__dirname, '..', '..', 'lib', 'index.js'));
const body = path.join(__dirname, 'worker-compute.cjs');

async function main() {
  for (let round = 0; round < 3; ++round) {
    const workers = Array.from({ length: 3 }, () => new Worker(body, { workerData: { mode: 'terminate-mid-call' } }));
    await Promise.all(workers.map((w) => new Promise((resolve) => w.once('message', resolve))));
    await Promise.all(workers.map((w) => w.terminate()));
  }
  const logits = Float32Array.from({ length: 2 * 3 * 16 }, (_, i) => Math.cos(i));
  const target = Uint8Array.from({ length: 32 }, (_, i) => i % 3);
  const { value } = await segloss.computeLossAsync('dice', { logits, target, shape: [2, 3, 4, 4] }, { grad: true });
  console.log(`ok ${value}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
