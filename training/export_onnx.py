#!/usr/bin/env python3
"""Export a PyTorch image classifier (torchvision / timm style) to a smooth-reduce model folder.

Writes <out>/model.onnx with the mean/std normalisation INSIDE the graph, so the noise is added to
pixels in [0, 1] (or the --pixel-range you give) and the normalisation runs after it, as randomized
smoothing requires (spec, section 3: Cohen et al.'s NormalizeLayer), and <out>/model.json, its model
card (input shape, pixel range, class names, the noise level it was trained with: 0 for a standard
classifier, which then needs a denoiser: smooth-reduce certify --denoiser ...).

The model comes from `--arch module:function` (a callable returning an nn.Module, e.g.
`torchvision.models:resnet18`, or a function in your own file: `my_models.py:build`, with keyword
arguments as JSON in --arch-kwargs) and `--checkpoint` (a state dict, or a dict holding one under
"state_dict" / "model"; a "module." prefix from DataParallel is stripped). Or `--torchscript file.pt`.

    /usr/bin/python3 training/export_onnx.py --arch torchvision.models:resnet18 --arch-kwargs '{"num_classes": 10}' \
        --checkpoint resnet18.pt --input-shape 3 32 32 --mean 0.4914 0.4822 0.4465 --std 0.2470 0.2435 0.2616 \
        --classes airplane automobile bird cat deer dog frog horse ship truck --trained-sigma 0 --out models/my-resnet18

--reference N also writes <out>/reference.json: N seeded inputs and PyTorch's logits for them, which
`node training/verify-ort.mjs --reference <out>` (or the test suite) compares with ONNX Runtime's.
"""
import argparse
import importlib
import importlib.util
import json
import os
import shlex
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train import Normalize  # noqa: E402  (the same first layer as the shipped models)


def load_callable(spec):
    """`package.module:function` or `path/to/file.py:function`."""
    if ':' not in spec:
        sys.exit(f'export_onnx.py: --arch must be module:function or file.py:function, got {spec!r}')
    where, name = spec.rsplit(':', 1)
    if where.endswith('.py'):
        if not os.path.exists(where):
            sys.exit(f'export_onnx.py: no such file {where}')
        module_spec = importlib.util.spec_from_file_location('user_arch', where)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as e:
            sys.exit(f'export_onnx.py: cannot import {where}: {e}')
    if not hasattr(module, name):
        sys.exit(f'export_onnx.py: {where} has no {name}')
    return getattr(module, name)


def load_state(path):
    state = torch.load(path, map_location='cpu')
    for key in ('state_dict', 'model'):
        if isinstance(state, dict) and key in state and isinstance(state[key], dict):
            state = state[key]
    if not isinstance(state, dict):
        sys.exit(f'export_onnx.py: {path} holds no state dict')
    return {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument('--arch', help='module:function or file.py:function returning the nn.Module')
    src.add_argument('--torchscript', help='a TorchScript file (torch.jit.save) instead of --arch')
    p.add_argument('--arch-kwargs', default='{}', help='JSON keyword arguments for --arch')
    p.add_argument('--checkpoint', help='weights for --arch (state dict)')
    p.add_argument('--input-shape', type=int, nargs=3, required=True, metavar=('C', 'H', 'W'))
    p.add_argument('--mean', type=float, nargs='+', help='per-channel mean in the pixel range (omit: no normalisation)')
    p.add_argument('--std', type=float, nargs='+')
    p.add_argument('--pixel-range', type=float, nargs=2, default=[0.0, 1.0])
    p.add_argument('--classes', nargs='+', help='class names in output order (or --classes-file)')
    p.add_argument('--classes-file', help='one class name per line')
    p.add_argument('--channel-order', choices=['gray', 'RGB', 'BGR'], default=None)
    p.add_argument('--trained-sigma', type=float, required=True,
                   help='the Gaussian noise level it was trained with (0: a standard classifier)')
    p.add_argument('--dataset', default='unknown', help='what it was trained on (for the card)')
    p.add_argument('--name', default=None)
    p.add_argument('--out', required=True)
    p.add_argument('--opset', type=int, default=13)
    p.add_argument('--reference', type=int, default=0, help='write reference.json with this many seeded inputs')
    args = p.parse_args()

    c, h, w = args.input_shape
    if (args.mean is None) != (args.std is None):
        p.error('--mean and --std go together')
    if args.mean is not None and (len(args.mean) != c or len(args.std) != c or min(args.std) <= 0):
        p.error(f'--mean and --std need {c} values each (std > 0)')
    if args.classes_file:
        with open(args.classes_file) as f:
            classes = [line.strip() for line in f if line.strip()]
    else:
        classes = args.classes
    if not classes or len(classes) < 2:
        p.error('give the class names (--classes or --classes-file), at least two')

    if args.torchscript:
        net = torch.jit.load(args.torchscript, map_location='cpu')
    else:
        net = load_callable(args.arch)(**json.loads(args.arch_kwargs))
        if args.checkpoint:
            missing, unexpected = net.load_state_dict(load_state(args.checkpoint), strict=False)
            if missing or unexpected:
                sys.exit(f'export_onnx.py: the checkpoint does not fit {args.arch}: missing {missing[:5]}, '
                         f'unexpected {unexpected[:5]}')
    model = nn.Sequential(Normalize(args.mean, args.std), net) if args.mean is not None else net
    model.eval()

    with torch.no_grad():
        logits = model(torch.full((2, c, h, w), 0.5))
    if logits.dim() != 2 or logits.shape[1] != len(classes):
        sys.exit(f'export_onnx.py: the model returns {list(logits.shape)} for 2 inputs; expected [2, {len(classes)}] '
                 f'({len(classes)} class names given)')

    os.makedirs(args.out, exist_ok=True)
    onnx_path = os.path.join(args.out, 'model.onnx')
    torch.onnx.export(model, torch.zeros(2, c, h, w), onnx_path, input_names=['input'], output_names=['logits'],
                      dynamic_axes={'input': {0: 'N'}, 'logits': {0: 'N'}}, opset_version=args.opset,
                      do_constant_folding=True)
    import onnx
    onnx.checker.check_model(onnx.load(onnx_path), full_check=True)

    card = {
        'format': 'smooth-reduce-model-card',
        'version': 1,
        'name': args.name or os.path.basename(os.path.normpath(args.out)),
        'input': {
            'layout': 'NCHW',
            'shape': [c, h, w],
            'pixelRange': args.pixel_range,
            'channelOrder': args.channel_order or ('gray' if c == 1 else 'RGB'),
            'normalization': None,
        },
        'classes': classes,
        'training': {
            'sigma': args.trained_sigma,
            'dataset': args.dataset,
            'architecture': (args.arch or f'TorchScript {args.torchscript}') +
                            (f'; mean {args.mean} std {args.std} inside the graph' if args.mean else ''),
            'command': shlex.join(['/usr/bin/python3', 'training/export_onnx.py'] + sys.argv[1:]),
        },
    }
    with open(os.path.join(args.out, 'model.json'), 'w') as f:
        json.dump(card, f, indent=2)
        f.write('\n')
    if args.reference:
        gen = torch.Generator().manual_seed(0)
        lo, hi = args.pixel_range
        x = lo + (hi - lo) * torch.rand((args.reference, c, h, w), generator=gen)
        with torch.no_grad():
            y = model(x)
        with open(os.path.join(args.out, 'reference.json'), 'w') as f:
            json.dump({'shape': [c, h, w], 'inputs': x.flatten().tolist(), 'logits': y.flatten().tolist()}, f)
    print(f'wrote {onnx_path} ({os.path.getsize(onnx_path)} bytes, opset {args.opset}, onnx.checker OK) and its card')


if __name__ == '__main__':
    main()
