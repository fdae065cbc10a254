// A first segloss job: fit a batch of free logits to synthetic masks by gradient descent on the
// survey's objective 0.5·Dice + 0.5·cross-entropy, using the fused native gradient. Prints the loss
// as it falls and the final per-class Dice score. Run: node examples/train-logits.js
'use strict';
const { computeLoss, computeLossAsync } = require('segloss');

const B = 2, C = 3, H = 64, W = 64;
const shape = [B, C, H, W];

// Class 1: a disc; class 2: a square; class 0: background.
function makeTarget() {
  const target = new Uint8Array(B * H * W);
  for (let b = 0; b < B; b++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const r = Math.hypot(x - 20 - 8 * b, y - 24);
        let label = 0;
        if (r < 12) label = 1;
        else if (x > 36 && x < 56 && y > 30 && y < 54 - 6 * b) label = 2;
        target[(b * H + y) * W + x] = label;
      }
    }
  }
  return target;
}

const objective = [
  { loss: 'dice', weight: 0.5 },
  { loss: 'cross-entropy', weight: 0.5 },
];

function diceScore(logits, target) {
  // Hard Dice per class from the argmax of the logits.
  const inter = new Array(C).fill(0), pred = new Array(C).fill(0), gt = new Array(C).fill(0);
  const N = H * W;
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < N; i++) {
      let best = 0;
      for (let c = 1; c < C; c++) if (logits[(b * C + c) * N + i] > logits[(b * C + best) * N + i]) best = c;
      const t = target[b * N + i];
      pred[best]++; gt[t]++; if (best === t) inter[t]++;
    }
  }
  return inter.map((v, c) => (2 * v) / (pred[c] + gt[c]));
}

async function main() {
  const target = makeTarget();
  const logits = new Float32Array(B * C * H * W);
  const lr = 2000;  // the mean over 8192 pixels makes per-logit gradients small
  for (let step = 0; step <= 60; step++) {
    const { value, grad } = await computeLossAsync(objective, { logits, target, shape }, { grad: true });
    if (step % 10 === 0) console.log(`step ${String(step).padStart(2)}  loss ${value.toFixed(5)}`);
    for (let i = 0; i < logits.length; i++) logits[i] -= lr * grad[i];
  }
  const dice = computeLoss('dice', { logits, target, shape }, { perImage: true }).value;
  console.log(`soft Dice loss (MONAI convention, per image): ${dice.toFixed(5)}`);
  console.log(`hard Dice per class: ${diceScore(logits, target).map((d) => d.toFixed(4)).join('  ')}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
