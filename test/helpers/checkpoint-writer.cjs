// Child of test/trainer-faults.test.ts: writes the same checkpoint over and over (Trainer.save,
// atomic: temporary file, fsync, rename) and prints 'saved <n>' after each, until it is killed.
//   node checkpoint-writer.cjs <path>
'use strict';

const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const { Trainer } = require(path.join(root, 'lib', 'index.js'));

async function main(file) {
  const trainer = await Trainer.create({ model: { name: 'unet', inChannels: 1, numClasses: 3, baseChannels: 16 }, seed: 1 });
  for (let n = 0; ; ++n) {
    await trainer.save(file);
    process.stdout.write(`saved ${n}\n`);
  }
}

main(process.argv[2]).catch((error) => {
  console.error(error);
  process.exit(1);
});
