#!/usr/bin/env python3
"""Generates test/fixtures/geometry/scipy.json: expected values for the distance transforms,
morphology, distance maps and metrics of src/geometry.ts and src/metrics.ts, computed with
Debian's python3-scipy / python3-numpy (`apt-get install python3-scipy`).

    python3 scripts/generate-geometry-fixtures.py > test/fixtures/geometry/scipy.json

The metric cases re-run medpy's algorithm (medpy.metric.binary.dc / hd95, as TransUNet's
calculate_metric_percase calls them) with scipy's primitives: binary_erosion by
generate_binary_structure(ndim, 1), distance_transform_edt(sampling=spacing), np.percentile.
Masks are stored as strings of '0'/'1' (row-major); an infinite distance is stored as null.
"""
import json
import sys

import numpy as np
import scipy
from scipy.ndimage import (binary_dilation, binary_erosion, distance_transform_edt,
                           generate_binary_structure)

RNG = np.random.default_rng(20261201)


def bits(mask):
    return ''.join('1' if v else '0' for v in np.asarray(mask).ravel())


def numbers(values):
    return [None if not np.isfinite(v) else float(v) for v in np.asarray(values, dtype=np.float64).ravel()]


def edt_maps(masks, spacing):
    """EDT per map of a batch [N, ...spatial]; a map with no zero element is +inf (our convention)."""
    out = []
    for m in masks:
        if m.all():
            out.append(np.full(m.shape, np.inf))
        else:
            out.append(distance_transform_edt(m, sampling=spacing))
    return np.stack(out)


def random_mask(shape, p=None):
    p = RNG.uniform(0.05, 0.95) if p is None else p
    return RNG.random(shape) < p


def structured_masks():
    """(name, mask) pairs for the edge shapes."""
    cases = []
    for shape in [(1, 1), (1, 7), (7, 1), (3, 5), (5, 3), (2, 2, 2), (1, 1, 1), (1, 4, 1), (3, 1, 4)]:
        cases.append((f'empty {shape}', np.zeros(shape, bool)))
        cases.append((f'full {shape}', np.ones(shape, bool)))
    for shape in [(4, 6), (3, 4, 5), (1, 9), (9, 1)]:
        n = int(np.prod(shape))
        for flat in sorted({0, n - 1, n // 2, shape[-1] - 1}):
            m = np.ones(shape, bool)
            m.flat[flat] = False
            cases.append((f'one zero at {flat} {shape}', m))
    for shape in [(6, 6), (5, 8)]:
        m = np.ones(shape, bool)
        m[0, :] = False
        cases.append((f'zero top edge {shape}', m))
        m = np.ones(shape, bool)
        m[:, -1] = False
        cases.append((f'zero right edge {shape}', m))
        m = np.ones(shape, bool)
        m[-1, 0] = False
        cases.append((f'zero corner {shape}', m))
    return cases


def edt_cases():
    cases = []
    for name, m in structured_masks():
        for spacing in [None, [round(float(s), 3) for s in RNG.uniform(0.3, 3.0, m.ndim)]]:
            s = spacing or [1.0] * m.ndim
            cases.append({'name': name + (f' spacing {s}' if spacing else ''), 'shape': list(m.shape), 'spacing': spacing,
                          'mask': bits(m), 'expected': numbers(edt_maps(m[None], s)[0])})
    for i in range(160):
        dims = 2 if i % 2 == 0 else 3
        shape = tuple(int(v) for v in RNG.integers(1, 9 if dims == 2 else 6, dims))
        m = random_mask(shape, p=0.97 if i % 7 == 0 else None)
        spacing = None if i % 3 == 0 else [round(float(s), 3) for s in RNG.uniform(0.2, 4.0, dims)]
        s = spacing or [1.0] * dims
        cases.append({'name': f'random {i} {shape}', 'shape': list(shape), 'spacing': spacing, 'mask': bits(m),
                      'expected': numbers(edt_maps(m[None], s)[0])})
    for i, (n, shape) in enumerate([(4, (5, 6)), (3, (3, 4, 5)), (6, (1, 8)), (5, (2, 2, 3))]):
        masks = np.stack([random_mask(shape) for _ in range(n)])
        masks[0] = True  # one map with no zero element
        dims = len(shape)
        spacing = [round(float(s), 3) for s in RNG.uniform(0.5, 2.0, dims)] if i % 2 else None
        cases.append({'name': f'batch {n}x{shape}', 'shape': [n, *shape], 'dims': dims, 'spacing': spacing,
                      'mask': bits(masks), 'expected': numbers(edt_maps(masks, spacing or [1.0] * dims))})
    return cases


def morphology_cases():
    cases = []
    for i in range(40):
        dims = 2 if i % 2 == 0 else 3
        shape = tuple(int(v) for v in RNG.integers(1, 8 if dims == 2 else 5, dims))
        m = random_mask(shape, p=0.7)
        for rank in (1, dims):
            st = generate_binary_structure(dims, rank)
            eroded = binary_erosion(m, structure=st, iterations=1)  # border_value 0
            dilated = binary_dilation(m, structure=st, iterations=1)
            cases.append({'shape': list(shape), 'connectivity': int(st.sum()) - 1, 'mask': bits(m),
                          'erode': bits(eroded), 'dilate': bits(dilated),
                          'innerBoundary': bits(m & ~eroded), 'outerBoundary': bits(dilated & ~m)})
    return cases


def distance_map_cases():
    cases = []
    for i in range(24):
        dims = 2 if i % 2 == 0 else 3
        shape = tuple(int(v) for v in RNG.integers(2, 9 if dims == 2 else 6, dims))
        m = random_mask(shape, p=[0.0, 1.0][i % 2] if i % 8 in (0, 1) else RNG.uniform(0.2, 0.8))
        spacing = None if i % 3 == 0 else [round(float(s), 3) for s in RNG.uniform(0.5, 2.0, dims)]
        s = spacing or [1.0] * dims
        defined = m.any() and (~m).any()
        if defined:
            inside = distance_transform_edt(m, sampling=s)   # inside: distance to the outside
            outside = distance_transform_edt(~m, sampling=s)  # outside: distance to the inside
            boundary = outside * ~m - (inside - 1) * m          # LIVIAETS one_hot2dist
            hausdorff = inside + outside                        # edt(mask) + edt(~mask)
            region = np.where(m, -inside / inside[m].max(), 1.0)
            other = np.where(m, inside, outside)
            penalty = np.where(m, (inside[m].max() - other) / inside[m].max(), (outside[~m].max() - other) / outside[~m].max())
        else:
            boundary = hausdorff = penalty = np.zeros(shape)
            region = np.full(shape, -1.0 if m.all() else 1.0)
        cases.append({'shape': list(shape), 'spacing': spacing, 'mask': bits(m), 'boundary': numbers(boundary),
                      'region-wise': numbers(region), 'hausdorff-dt': numbers(hausdorff), 'distance-map-ce': numbers(penalty)})
    return cases


def medpy_surface_distances(result, reference, spacing):
    footprint = generate_binary_structure(result.ndim, 1)
    result_border = result ^ binary_erosion(result, structure=footprint, iterations=1)
    reference_border = reference ^ binary_erosion(reference, structure=footprint, iterations=1)
    dt = distance_transform_edt(~reference_border, sampling=spacing)
    return dt[result_border]


def medpy_case(pred, gt, spacing):
    """TransUNet calculate_metric_percase (medpy dc and hd95) and the strict policy."""
    has_p, has_t = pred.sum() > 0, gt.sum() > 0
    if has_p and has_t:
        dc = 2.0 * np.count_nonzero(pred & gt) / float(np.count_nonzero(pred) + np.count_nonzero(gt))
        hd95 = np.percentile(np.hstack((medpy_surface_distances(pred, gt, spacing), medpy_surface_distances(gt, pred, spacing))), 95)
        return (dc, hd95), (dc, hd95)
    transunet = (1.0, 0.0) if has_p else (0.0, 0.0)
    strict = (1.0, 0.0) if has_p == has_t else (0.0, None)
    return transunet, strict


def blob(shape, centre, radii):
    grids = np.meshgrid(*[np.arange(n) for n in shape], indexing='ij')
    return sum(((g - c) / r) ** 2 for g, c, r in zip(grids, centre, radii)) <= 1.0


def metric_cases():
    pairs = []
    z = lambda s: np.zeros(s, bool)
    pairs.append(('empty prediction', z((6, 7)), blob((6, 7), (3, 3), (2, 2)), None))
    pairs.append(('empty target', blob((6, 7), (3, 3), (2, 2)), z((6, 7)), None))
    pairs.append(('both empty', z((5, 5)), z((5, 5)), None))
    one = z((7, 7)); one[3, 4] = True
    other = z((7, 7)); other[0, 6] = True
    pairs.append(('single pixels', one, other, None))
    pairs.append(('single pixel same', one, one.copy(), [0.5, 2.0]))
    full = np.ones((6, 8), bool)
    pairs.append(('touching borders', full, blob((6, 8), (0, 0), (4, 5)), None))
    v1, v2 = z((1, 1, 1)), z((1, 1, 1)); v1[0, 0, 0] = v2[0, 0, 0] = True
    pairs.append(('single voxel volumes', v1, v2, [2.5, 0.7, 0.7]))
    for i in range(30):
        dims = 2 if i % 3 else 3
        shape = tuple(int(v) for v in (RNG.integers(8, 40, 2) if dims == 2 else RNG.integers(4, 14, 3)))
        a = blob(shape, RNG.uniform(0, shape), RNG.uniform(1, np.array(shape) / 1.5))
        b = blob(shape, RNG.uniform(0, shape), RNG.uniform(1, np.array(shape) / 1.5))
        if i % 4 == 0:
            a |= random_mask(shape, p=0.05)
        spacing = None if i % 2 else [round(float(s), 3) for s in RNG.uniform(0.4, 3.0, dims)]
        pairs.append((f'blobs {i} {shape}', a, b, spacing))
    cases = []
    for name, pred, gt, spacing in pairs:
        transunet, strict = medpy_case(pred, gt, spacing)
        cases.append({'name': name, 'shape': list(pred.shape), 'spacing': spacing, 'pred': bits(pred), 'target': bits(gt),
                      'transunet': numbers(transunet), 'strict': numbers(strict)})
    return cases


def volume_cases():
    cases = []
    for i in range(4):
        shape = (int(RNG.integers(3, 8)), int(RNG.integers(10, 24)), int(RNG.integers(10, 24)))
        classes = 5
        target = np.zeros(shape, np.int64)
        pred = np.zeros(shape, np.int64)
        for c in range(1, classes - (i % 2)):  # odd cases leave the last class out of the target
            target[blob(shape, RNG.uniform(0, shape), RNG.uniform(1, np.array(shape) / 2))] = c
        for c in range(1, classes):
            if c == 2 and i >= 2:
                continue  # class 2 absent from the prediction
            pred[blob(shape, RNG.uniform(0, shape), RNG.uniform(1, np.array(shape) / 2))] = c
        spacing = [2.0, 0.8, 0.8] if i % 2 else None
        metric_list = [medpy_case(pred == c, target == c, spacing) for c in range(1, classes)]
        cases.append({'shape': list(shape), 'spacing': spacing, 'classes': classes, 'pred': pred.ravel().tolist(),
                      'target': target.ravel().tolist(), 'transunet': [numbers(m[0]) for m in metric_list],
                      'strict': [numbers(m[1]) for m in metric_list]})
    return cases


def iou_cases():
    cases = []
    for i, (n, classes, ignore) in enumerate([(200, 4, None), (300, 6, 255), (50, 3, 255), (120, 5, -1)]):
        target = RNG.integers(0, classes, n)
        pred = RNG.integers(0, classes, n)
        if i >= 1:
            target[RNG.random(n) < 0.2] = ignore
        if i == 1:  # class 5 absent from both; class 4 only in the prediction
            target[target == 5] = 0
            pred[pred == 5] = 1
            target[target == 4] = 0
        valid = target != ignore if ignore is not None else np.ones(n, bool)
        matrix = np.bincount(classes * target[valid] + pred[valid], minlength=classes ** 2).reshape(classes, classes)
        tp = np.diag(matrix).astype(np.float64)
        union = matrix.sum(0) + matrix.sum(1) - tp
        with np.errstate(invalid='ignore', divide='ignore'):
            iou = np.where(union > 0, tp / union, np.nan)
        cases.append({'classes': classes, 'ignoreIndex': ignore, 'pred': pred.tolist(), 'target': target.tolist(),
                      'matrix': matrix.ravel().tolist(), 'perClassIoU': numbers(iou), 'meanIoU': float(np.nanmean(iou))})
    return cases


def main():
    fixture = {
        '@generated': 'by scripts/generate-geometry-fixtures.py; do not edit by hand',
        'provenance': {
            'scipy': scipy.__version__, 'numpy': np.__version__, 'python': sys.version.split()[0],
            'functions': ['scipy.ndimage.distance_transform_edt(mask, sampling=spacing)',
                          'scipy.ndimage.binary_erosion / binary_dilation(structure=generate_binary_structure(ndim, 1 | ndim), iterations=1)',
                          "medpy.metric.binary.dc / hd95 algorithm re-run with scipy + np.percentile(q=95, method='linear')",
                          'numpy.bincount confusion matrix, IoU = TP / (TP + FP + FN)'],
            'seed': 20261201,
            'conventions': 'masks as 0/1 strings, row-major; null = +Infinity (a map with no zero element, and strict HD95 of one empty mask)',
        },
        'edt': edt_cases(),
        'morphology': morphology_cases(),
        'distanceMaps': distance_map_cases(),
        'metrics': metric_cases(),
        'volumes': volume_cases(),
        'iou': iou_cases(),
    }
    json.dump(fixture, sys.stdout, separators=(',', ':'))
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
