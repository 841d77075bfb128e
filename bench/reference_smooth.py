#!/usr/bin/env python3
"""The Python reference for the smooth-reduce benchmark (bench/certify.ts starts it).

Certifies the same inputs with the same n0, n, batch, alpha and thread count as the library, written the
way the Python research code does it:
- `Smooth`: CERTIFY of Cohen et al.'s locuslab/smoothing (code/core.py), rewritten here: per batch the input
  is repeated `batch` times, `torch.randn_like` noise is added, the base classifier's argmax is counted with
  np.bincount; the lower confidence bound is Clopper-Pearson (statsmodels' proportion_confint, method "beta",
  as core.py; scipy's beta.ppf if statsmodels is missing), the radius sigma * norm.ppf(pA).
- `PatchReduce` (Smooth-Reduce): the base classifier on the resized image. The input is resized with
  F.interpolate (bilinear, align_corners=False), the noise is added to the resized image (correlated noise,
  the research code's main path), the noisy image is cut into k patches of the base model's input size with
  F.unfold, the base model runs on all B*k patches in one call and the k logit vectors of every sample are
  reduced with max or mean.
- The base model is training/train.py's architecture with the weights of the shipped model.onnx (its
  initializers via onnx.numpy_helper; the export folded every BatchNorm into the preceding conv, so the
  rebuilt model has biased convs and no BatchNorm).

    /usr/bin/python3 bench/reference_smooth.py spec.json > result.json

spec.json (written by bench/certify.ts): model, arch, inputs file (float32, the library's pixels), shape,
indices, labels, sigma, n0, n, alpha, batch, threads, seed, configs [{name, method, stride, k}], resize,
checks (float32 inputs and the ORT logits for them, to compare the two models), centers (the library's
resized images, to compare the two resizes).
"""
import json
import math
import os
import re
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from scipy.stats import beta, norm

try:
    from statsmodels.stats.proportion import proportion_confint
except ImportError:  # statsmodels is what core.py uses; scipy gives the same bound
    proportion_confint = None

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'training'))
import train  # noqa: E402  (the architectures the shipped models were trained with)


class Smooth:
    """A smoothed classifier g around a base classifier f (after locuslab/smoothing's core.Smooth)."""

    ABSTAIN = -1

    def __init__(self, base_classifier, num_classes, sigma):
        self.base_classifier = base_classifier
        self.num_classes = num_classes
        self.sigma = sigma
        self.model_seconds = 0.0  # time inside base_classifier calls (benchmark bookkeeping)

    def certify(self, x, n0, n, alpha, batch_size):
        """CERTIFY: (class or ABSTAIN, radius in the space of x, pA lower bound, nA)."""
        self.base_classifier.eval()
        counts_selection = self._sample_noise(x, n0, batch_size)
        c_hat = int(counts_selection.argmax())
        counts_estimation = self._sample_noise(x, n, batch_size)
        n_a = int(counts_estimation[c_hat])
        p_a = self._lower_confidence_bound(n_a, n, alpha)
        if p_a < 0.5:
            return Smooth.ABSTAIN, 0.0, p_a, n_a
        return c_hat, self.sigma * norm.ppf(p_a), p_a, n_a

    def _sample_noise(self, x, num, batch_size):
        """Class counts of f(x + noise) over `num` noisy copies of x, `batch_size` per model call."""
        with torch.no_grad():
            counts = np.zeros(self.num_classes, dtype=np.int64)
            remaining = num
            while remaining > 0:
                this_batch = min(batch_size, remaining)
                remaining -= this_batch
                batch = x.repeat((this_batch, 1, 1, 1))
                noise = torch.randn_like(batch) * self.sigma
                t0 = time.perf_counter()
                predictions = self.base_classifier(batch + noise).argmax(1)
                self.model_seconds += time.perf_counter() - t0
                counts += np.bincount(predictions.numpy(), minlength=self.num_classes)
            return counts

    @staticmethod
    def _lower_confidence_bound(n_a, n, alpha):
        """One-sided (1 - alpha) Clopper-Pearson lower bound (the lower end of the two-sided 1 - 2 alpha one)."""
        if proportion_confint is not None:
            return float(proportion_confint(n_a, n, alpha=2 * alpha, method='beta')[0])
        return 0.0 if n_a == 0 else float(beta.ppf(alpha, n_a, n - n_a + 1))


class PatchReduce(nn.Module):
    """Smooth-Reduce's base classifier on a (noisy) resized image: k patches, one model call, max/mean logits."""

    def __init__(self, base, patch, stride, reduction):
        super().__init__()
        self.base, self.patch, self.stride, self.reduction = base, patch, stride, reduction

    def forward(self, z):
        b, c = z.shape[:2]
        ph, pw = self.patch
        cols = F.unfold(z, kernel_size=(ph, pw), stride=self.stride)  # [B, C*ph*pw, k], row-major positions
        k = cols.shape[-1]
        patches = cols.transpose(1, 2).reshape(b * k, c, ph, pw)
        logits = self.base(patches).view(b, k, -1)
        return logits.max(1).values if self.reduction == 'max' else logits.mean(1)


def load_model(onnx_path, arch, channels):
    """training/train.py's architecture with the ONNX model's weights (BatchNorm folded into the convs)."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(onnx_path).graph
    init = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    nodes = list(graph.node)
    convs = [n for n in nodes if n.op_type == 'Conv']
    gemms = [n for n in nodes if n.op_type == 'Gemm']
    sub = next(n for n in nodes if n.op_type == 'Sub')
    div = next(n for n in nodes if n.op_type == 'Div')
    mean = init[sub.input[1]].reshape(-1)
    std = init[div.input[1]].reshape(-1)
    model = getattr(train, arch)([0.0] * channels, [1.0] * channels)
    layers = list(model)
    norm_layer = layers[0]
    norm_layer.mean.copy_(torch.from_numpy(mean.copy()).view(1, -1, 1, 1))
    norm_layer.std.copy_(torch.from_numpy(std.copy()).view(1, -1, 1, 1))
    conv_modules = [m for m in layers if isinstance(m, nn.Conv2d)]
    linear_modules = [m for m in layers if isinstance(m, nn.Linear)]
    if len(conv_modules) != len(convs) or len(linear_modules) != len(gemms):
        raise ValueError(f'{onnx_path}: {len(convs)} Conv / {len(gemms)} Gemm nodes, but {arch} has '
                         f'{len(conv_modules)} conv / {len(linear_modules)} linear layers')
    for node, m in zip(convs, conv_modules):
        w, b = init[node.input[1]], init[node.input[2]]
        if tuple(w.shape) != tuple(m.weight.shape):
            raise ValueError(f'conv weight {w.shape} vs {tuple(m.weight.shape)}')
        m.weight = nn.Parameter(torch.from_numpy(w.copy()))
        m.bias = nn.Parameter(torch.from_numpy(b.copy()))
    for node, m in zip(gemms, linear_modules):
        attrs = {a.name: a for a in node.attribute}
        if 'transB' not in attrs or attrs['transB'].i != 1:
            raise ValueError('expected Gemm with transB=1')
        m.weight = nn.Parameter(torch.from_numpy(init[node.input[1]].copy()))
        m.bias = nn.Parameter(torch.from_numpy(init[node.input[2]].copy()))
    # the export folded each BatchNorm into its conv: drop them
    for i, m in enumerate(layers):
        if isinstance(m, nn.BatchNorm2d):
            model[i] = nn.Identity()
    return model.eval()


def resize_norm(n_in, n_out):
    """||R||_2 of the 1-D bilinear (linear) resize n_in -> n_out, align_corners=False."""
    eye = torch.eye(n_in).unsqueeze(0)  # [1, n_in (channels = basis vectors), n_in]
    cols = F.interpolate(eye, size=n_out, mode='linear', align_corners=False)[0]  # [n_in, n_out]
    return float(torch.linalg.matrix_norm(cols.T.double(), ord=2))


def main():
    spec = json.load(open(sys.argv[1]))
    threads = int(spec['threads'])
    torch.set_num_threads(threads)
    torch.manual_seed(spec['seed'])
    c, h, w = spec['shape']
    inputs = np.fromfile(spec['inputs'], dtype=np.float32).reshape(-1, c, h, w)
    t_load = time.perf_counter()
    model = load_model(spec['model'], spec['arch'], c)
    load_seconds = time.perf_counter() - t_load
    out = {
        'python': sys.version.split()[0],
        'torch': torch.__version__,
        'numpy': np.__version__,
        'statsmodels': None,
        'threads': torch.get_num_threads(),
        'mkldnn': bool(torch.backends.mkldnn.is_available()),
        'blas': (re.search(r'BLAS_INFO=(\w+)', torch.__config__.show()) or [None, 'unknown'])[1],
        'loadSeconds': load_seconds,
    }
    if proportion_confint is not None:
        import statsmodels
        out['statsmodels'] = statsmodels.__version__

    with torch.no_grad():
        if spec.get('checks'):
            x = torch.from_numpy(np.fromfile(spec['checks']['inputs'], dtype=np.float32).reshape(-1, c, h, w))
            ort_logits = np.fromfile(spec['checks']['logits'], dtype=np.float32).reshape(x.shape[0], -1)
            logits = model(x).numpy()
            out['logitsCheck'] = {
                'inputs': int(x.shape[0]),
                'maxAbsDiff': float(np.abs(logits - ort_logits).max()),
                'maxAbsLogit': float(np.abs(ort_logits).max()),
                'sameArgmax': int((logits.argmax(1) == ort_logits.argmax(1)).sum()),
            }
    rh, rw = spec['resize']
    if spec.get('centers'):
        lib_centers = np.fromfile(spec['centers'], dtype=np.float32).reshape(-1, c, rh, rw)
        ours = F.interpolate(torch.from_numpy(inputs[:len(lib_centers)]), size=(rh, rw), mode='bilinear',
                             align_corners=False).numpy()
        out['resizeCheck'] = {'inputs': int(len(lib_centers)), 'maxAbsDiff': float(np.abs(ours - lib_centers).max())}
    norm_r = resize_norm(h, rh) * resize_norm(w, rw)
    out['resizeNorm'] = norm_r

    num_classes = spec['numClasses']
    results = []
    for cfg in spec['configs']:
        if cfg['method'] == 'rs':
            smooth = Smooth(model, num_classes, spec['sigma'])
            prepare = (lambda x: x)
            scale = 1.0
        else:
            smooth = Smooth(PatchReduce(model, (h, w), cfg['stride'], cfg['method']), num_classes, spec['sigma'])
            prepare = (lambda x: F.interpolate(x[None], size=(rh, rw), mode='bilinear', align_corners=False)[0])
            scale = norm_r
        # warm-up (first-call allocations), as the library's side does
        smooth.certify(prepare(torch.from_numpy(inputs[0])), spec['n0'], min(spec['n'], 2 * spec['batch']),
                       spec['alpha'], spec['batch'])
        per_input = []
        total = 0.0
        smooth.model_seconds = 0.0
        for i, idx in enumerate(spec['indices']):
            t0 = time.perf_counter()
            x = prepare(torch.from_numpy(inputs[i]))
            pred, radius, p_a, n_a = smooth.certify(x, spec['n0'], spec['n'], spec['alpha'], spec['batch'])
            dt = time.perf_counter() - t0
            total += dt
            per_input.append({'index': idx, 'label': spec['labels'][i], 'prediction': int(pred),
                              'radiusSmoothing': float(radius), 'radius': float(radius) / scale,
                              'pALower': p_a, 'nA': n_a, 'seconds': dt})
            print(f'  python {cfg["name"]} input {idx}: class {pred} radius {radius / scale:.3f} ({dt:.1f} s)',
                  file=sys.stderr, flush=True)
        forwards = len(spec['indices']) * (spec['n0'] + spec['n']) * cfg['k']
        results.append({'config': cfg['name'], 'seconds': total, 'modelSeconds': smooth.model_seconds,
                        'modelForwardsPerSec': forwards / smooth.model_seconds, 'results': per_input})
    out['configs'] = results
    json.dump(out, sys.stdout)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
