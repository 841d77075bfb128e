#!/usr/bin/env python3
"""Train a small noise-augmented 3D CNN on temporal windows of video clips and export it to ONNX.

The clips are real video files (scripts/make-video-benchmark.ts writes them: moving Fashion-MNIST, label =
direction of motion), decoded with ffmpeg through the same filter chain as smooth-reduce's decoder
(src/data/video.ts, ffmpegArguments): resample to --fps, scale the shorter side to --size (bilinear), centre
crop, first --clip-frames frames, 8-bit gray. Every training sample is a window of --window consecutive
frames at a random start, with Gaussian noise N(0, sigma^2) added to its [0, 1] pixels (Cohen et al.).

--window 1 trains the one-frame control (same recipe, temporal kernels of size 1): its accuracy shows how
much a single frame tells about the class (near chance by construction of the benchmark).

Writes <out>/model.onnx (input "input" [N, C, T, H, W], dynamic N; output "logits" [N, classes]) and
<out>/model.json (model card version 2, see src/models/model-card.ts).

Run from the repo root, e.g.
    /usr/bin/python3 training/train_video.py --train runs/moving-fmnist-train --test data/moving-fmnist \
        --sigma 0.25 --epochs 30 --seed 0 --out models/moving-fmnist-c3d-s025
"""
import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def log(msg):
    print(f'[{time.strftime("%H:%M:%S")}] {msg}', flush=True)


def find_ffmpeg():
    bundled = os.path.join('node_modules', '@ffmpeg-installer', 'linux-x64', 'ffmpeg')
    if os.access(bundled, os.X_OK):
        return bundled
    found = shutil.which('ffmpeg')
    if not found:
        raise SystemExit('ffmpeg not found: run npm ci (it brings @ffmpeg-installer/ffmpeg) or install ffmpeg')
    return found


def decode(ffmpeg, path, fps, size, frames):
    """The same command line as src/data/video.ts ffmpegArguments (gray): uint8 [T, size, size]."""
    vf = f'fps={fps},scale={size}:{size}:force_original_aspect_ratio=increase:flags=bilinear,crop={size}:{size}'
    cmd = [ffmpeg, '-nostdin', '-hide_banner', '-loglevel', 'error', '-i', path, '-an', '-sn', '-dn', '-vf', vf,
           '-frames:v', str(frames), '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1']
    raw = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE).stdout
    got = len(raw) // (size * size)
    if got < frames:
        raise ValueError(f'{path}: {got} frames at {fps} fps, fewer than {frames}')
    return np.frombuffer(raw, dtype=np.uint8, count=frames * size * size).reshape(frames, size, size)


def load_split(root, list_name, ffmpeg, fps, size, frames, cache_dir='runs/decoded-cache'):
    """UCF-101 layout: classInd.txt + a split list of 'Class/clip [label]' lines. The decoded clips are cached
    in cache_dir (keyed by folder, list and decoding parameters) so that several trainings decode once."""
    key = f'{os.path.abspath(root)}|{list_name}|{fps}|{size}|{frames}'.replace('/', '_').replace('|', '-')
    cache = os.path.join(cache_dir, f'{key}.npz')
    if os.path.exists(cache):
        z = np.load(cache)
        return z['x'], z['y'], [str(c) for c in z['classes']]
    classes = []
    with open(os.path.join(root, 'classInd.txt')) as f:
        for line in f:
            if line.strip():
                k, name = line.split()
                classes.append((int(k), name))
    classes = [name for _, name in sorted(classes)]
    xs, ys = [], []
    with open(os.path.join(root, list_name)) as f:
        entries = [line.split()[0] for line in f if line.strip()]
    for entry in entries:
        xs.append(decode(ffmpeg, os.path.join(root, entry), fps, size, frames))
        ys.append(classes.index(entry.split('/')[0]))
    x, y = np.stack(xs)[:, None], np.array(ys, dtype=np.int64)  # [N, 1, T, H, W]
    os.makedirs(cache_dir, exist_ok=True)
    np.savez(cache, x=x, y=y, classes=np.array(classes))
    return x, y, classes


def c3d(window, classes):
    """Three 3x3x3 conv blocks (spatial stride 2 each, temporal stride 2 in the last), global average pool,
    linear. With window 1 the temporal kernels have size 1 (the one-frame control)."""
    kt = 3 if window >= 3 else 1
    pt = kt // 2
    st = 2 if window >= 4 else 1

    def block(cin, cout, stride_t):
        return [nn.Conv3d(cin, cout, (kt, 3, 3), stride=(stride_t, 2, 2), padding=(pt, 1, 1), bias=False),
                nn.BatchNorm3d(cout), nn.ReLU(inplace=True)]

    return nn.Sequential(*block(1, 8, 1), *block(8, 16, 1), *block(16, 32, st),
                         nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(32, classes))


ARCH = ('[conv 3x3x3 8, spatial stride 2] -> [conv 3x3x3 16, spatial stride 2] -> [conv 3x3x3 32, stride 2] '
        '(each + BatchNorm + ReLU) -> global average pool -> FC 32-classes (raw logits)')


def count_macs(model, shape):
    macs = 0
    hooks = []

    def conv_hook(m, inp, out):
        nonlocal macs
        macs += out.numel() // out.shape[0] * m.in_channels * int(np.prod(m.kernel_size))

    def lin_hook(m, inp, out):
        nonlocal macs
        macs += m.in_features * m.out_features

    for m in model.modules():
        if isinstance(m, nn.Conv3d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(lin_hook))
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, *shape))
    for h in hooks:
        h.remove()
    return macs


def windows(x, window, stride):
    """Every window of the clips (start 0, stride, ...): [N * k, C, window, H, W] and its clip index."""
    starts = list(range(0, x.shape[2] - window + 1, stride))
    w = np.concatenate([x[:, :, s:s + window] for s in starts])
    return w, np.tile(np.arange(len(x)), len(starts))


@torch.no_grad()
def evaluate(model, x_u8, y, window, stride, sigma, seed, batch=500):
    """Accuracy over every window (stride `stride`) of the test clips: clean, and with one noise draw each."""
    model.eval()
    w, clip = windows(x_u8, window, stride)
    t = torch.from_numpy(y[clip])
    gen = torch.Generator().manual_seed(seed)
    clean = noisy = 0
    for i in range(0, len(w), batch):
        xb = torch.from_numpy(w[i:i + batch]).float().div_(255)
        tb = t[i:i + batch]
        clean += (model(xb).argmax(1) == tb).sum().item()
        noisy += (model(xb + torch.randn(xb.shape, generator=gen) * sigma).argmax(1) == tb).sum().item()
    return clean / len(w), noisy / len(w), len(w)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--train', required=True, help='training clips (UCF-101 layout, trainlist01.txt)')
    p.add_argument('--test', required=True, help='test clips (UCF-101 layout, testlist01.txt)')
    p.add_argument('--sigma', type=float, required=True)
    p.add_argument('--epochs', type=int, required=True)
    p.add_argument('--window', type=int, default=8, help='frames per window (1: the one-frame control)')
    p.add_argument('--clip-frames', type=int, default=32)
    p.add_argument('--fps', type=float, default=12)
    p.add_argument('--size', type=int, default=32)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--out', required=True)
    p.add_argument('--name', default=None)
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--windows-per-clip', type=int, default=4, help='random windows per clip and epoch')
    p.add_argument('--lr', type=float, default=0.05)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--opset', type=int, default=13)
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    t_start = time.time()
    ffmpeg = find_ffmpeg()
    xtr, ytr, classes = load_split(args.train, 'trainlist01.txt', ffmpeg, args.fps, args.size, args.clip_frames)
    xte, yte, test_classes = load_split(args.test, 'testlist01.txt', ffmpeg, args.fps, args.size, args.clip_frames)
    assert classes == test_classes, (classes, test_classes)
    log(f'decoded train {xtr.shape} test {xte.shape} in {time.time() - t_start:.0f} s')
    shape = [1, args.window, args.size, args.size]
    model = c3d(args.window, len(classes))
    macs = count_macs(model, shape)
    nparams = sum(q.numel() for q in model.parameters())
    log(f'model: {nparams} parameters, {macs / 1e6:.2f} M multiply-accumulates per window')

    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    gen = torch.Generator().manual_seed(args.seed)
    n = len(ytr) * args.windows_per_clip
    steps = args.epochs * ((n + args.batch_size - 1) // args.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps, pct_start=0.15)
    xtr_t, ytr_t = torch.from_numpy(xtr), torch.from_numpy(ytr)
    span = args.clip_frames - args.window + 1
    for epoch in range(args.epochs):
        model.train()
        t0 = time.time()
        clip = torch.randperm(n, generator=gen) % len(ytr)
        start = torch.randint(0, span, (n,), generator=gen)
        tot = correct = 0
        for i in range(0, n, args.batch_size):
            c, s = clip[i:i + args.batch_size], start[i:i + args.batch_size]
            idx = s[:, None] + torch.arange(args.window)[None, :]
            x = xtr_t[c[:, None], :, idx].permute(0, 2, 1, 3, 4).float().div_(255)  # [B, 1, T, H, W]
            x = x + torch.randn(x.shape, generator=gen) * args.sigma
            logits = model(x)
            loss = F.cross_entropy(logits, ytr_t[c])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * len(c)
            correct += (logits.argmax(1) == ytr_t[c]).sum().item()
        log(f'epoch {epoch + 1}/{args.epochs}: loss {tot / n:.4f} noisy train acc {correct / n:.4f} '
            f'({time.time() - t0:.0f} s)')
    t_train = time.time() - t_start
    clean, noisy, count = evaluate(model, xte, yte, args.window, 4, args.sigma, args.seed + 12345)
    log(f'test ({count} windows of {len(yte)} clips): clean {clean:.4f} noisy(sigma={args.sigma}) {noisy:.4f}')

    os.makedirs(args.out, exist_ok=True)
    model.eval()
    onnx_path = os.path.join(args.out, 'model.onnx')
    torch.onnx.export(model, torch.zeros(2, *shape), onnx_path, input_names=['input'], output_names=['logits'],
                      dynamic_axes={'input': {0: 'N'}, 'logits': {0: 'N'}}, opset_version=args.opset,
                      do_constant_folding=True)
    import onnx
    onnx.checker.check_model(onnx.load(onnx_path), full_check=True)
    log(f'exported {onnx_path} ({os.path.getsize(onnx_path)} bytes)')
    command = shlex.join(['/usr/bin/python3', 'training/train_video.py'] + sys.argv[1:])
    card = {
        'format': 'smooth-reduce-model-card',
        'version': 2,
        'name': args.name or os.path.basename(os.path.normpath(args.out)),
        'input': {
            'layout': 'NCTHW',
            'shape': shape,
            'pixelRange': [0, 1],
            'channelOrder': 'gray',
            'normalization': None,
            'fps': args.fps,
            'clipFrames': args.clip_frames,
        },
        'classes': classes,
        'training': {
            'sigma': args.sigma,
            'dataset': (f'moving Fashion-MNIST (scripts/make-video-benchmark.ts): {len(ytr)} train clips '
                        f'({args.train}), {len(yte)} test clips ({args.test}); label = direction of motion'),
            'epochs': args.epochs,
            'seed': args.seed,
            'augmentation': (f'{args.windows_per_clip} windows of {args.window} frames per clip and epoch at '
                             f'random starts; Gaussian noise N(0, {args.sigma}^2) on [0,1] pixels, no clipping'),
            'command': command,
            'architecture': (f'{ARCH}; {nparams} parameters, {macs / 1e6:.2f} M multiply-accumulates per '
                             f'window; SGD nesterov momentum 0.9, one-cycle LR peak {args.lr}, weight decay '
                             f'5e-4, batch {args.batch_size}; {t_train:.0f} s on {args.threads} thread(s)'),
        },
        'metrics': {
            'testImages': count,
            'testClips': int(len(yte)),
            'cleanAccuracy': round(clean, 4),
            'noisyAccuracy': round(noisy, 4),
        },
    }
    with open(os.path.join(args.out, 'model.json'), 'w') as f:
        json.dump(card, f, indent=2)
        f.write('\n')
    log(f'wrote {args.out}/model.json; total {time.time() - t_start:.0f} s')


if __name__ == '__main__':
    main()
