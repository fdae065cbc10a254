// Values and gradients against the reference implementations named in ../shared/spec/LOSSES.md
// (torch F.cross_entropy; nnU-Net TopKLoss; Berman lovasz_softmax; mlyg combo_loss and the combo formula; SegLossOdyssey
// ExpLog_loss and the exp-log formula; MONAI AsymmetricUnifiedFocalLoss and the unified-focal formula; MONAI DiceLoss,
// DiceLoss(jaccard=True), TverskyLoss; smp DiceLoss; nnU-Net MemoryEfficientSoftDiceLoss; SegLossOdyssey
// FocalTversky_loss, SSLoss; LucasFidon GeneralizedWassersteinDiceLoss; Digital-Dermatology TLoss, with d value / d θ;
// ZJULearning RMILoss), on
// every case of the generated fixtures in test/fixtures. Tolerances: 1e-5 relative for float32
// (and for float64 cases whose reference rounds through float32), 1e-10 for float64; gradients
// element-wise with an absolute floor scaled to max |grad| (test/fixtures/README.md).
import { describe, expect, it } from 'vitest';

import { computeLoss } from '../src/index';
import { fixtureLogits, fixtureOptions, fixtureTarget, isFloat64Exact, loadFixtureFiles } from './helpers/fixtures';
import { expectArrayClose, expectClose } from './helpers/numeric';

const files = loadFixtureFiles();

describe('parity fixtures', () => {
  it('are present (cross-entropy, dice and the region losses)', () => {
    expect(files.length).toBeGreaterThan(0);
    const losses = new Set(files.flatMap((f) => f.cases.map((c) => c.loss)));
    expect([...losses].sort()).toEqual([
      'active-boundary',
      'boundary',
      'boundary-dou',
      'combo',
      'cross-entropy',
      'dice',
      'distance-map-ce',
      'exp-log',
      'focal',
      'focal-tversky',
      'generalized-wasserstein-dice',
      'hausdorff-dt',
      'jaccard',
      'lovasz-softmax',
      'region-wise',
      'rmi',
      'robust-t',
      'sensitivity-specificity',
      'topk',
      'tversky',
      'unified-focal',
    ]);
  });
});

for (const file of files) {
  describe(`${file.file} (${String(file.reference.function)})`, () => {
    it.each(file.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
      const rel = isFloat64Exact(c) ? 1e-10 : 1e-5;
      const input = { logits: fixtureLogits(c), target: fixtureTarget(c), shape: c.shape };
      const result = computeLoss(c.loss, input, { ...fixtureOptions(c), grad: true });
      expectClose(result.value, c.value, rel, rel * 1e-2);
      expect(result.grad).toBeInstanceOf(c.dtype === 'float64' ? Float64Array : Float32Array);
      expectArrayClose(result.grad, c.grad, rel);
      // d/dθ sums terms of size D/2 (D the pixels of an image) that cancel: the absolute tolerance scales with D/2.
      const halfD = c.shape.slice(2).reduce((a, b) => a * b, 1) / 2;
      if (c.gradNuParameter !== undefined) expectClose(result.gradNuParameter ?? Number.NaN, c.gradNuParameter, rel, rel * halfD, 'gradNuParameter');
    });
  });
}

// log-cosh-dice has no PyTorch reference: on every Dice fixture case it must be log(cosh(L)) with
// L the reference Dice value, and its gradient tanh(L) times the reference Dice gradient.
for (const file of files.filter((f) => f.file.startsWith('dice.'))) {
  describe(`log-cosh-dice on ${file.file} (log cosh of ${String(file.reference.function)})`, () => {
    it.each(file.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
      const rel = isFloat64Exact(c) ? 1e-10 : 1e-5;
      const input = { logits: fixtureLogits(c), target: fixtureTarget(c), shape: c.shape };
      const result = computeLoss('log-cosh-dice', input, { ...c.options, grad: true });
      expectClose(result.value, Math.log(Math.cosh(c.value)), rel, rel * 1e-2);
      expectArrayClose(result.grad, c.grad.map((g) => Math.tanh(c.value) * g), rel);
    });
  });
}
