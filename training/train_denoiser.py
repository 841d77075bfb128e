#!/usr/bin/env python3
"""Train a DnCNN-style Gaussian denoiser for denoised smoothing (Salman et al., NeurIPS 2020) and export it.

Denoised smoothing certifies a classifier f that never saw noise by smoothing f(D(x + e)): D is this
denoiser, run on every noisy sample AFTER the noise (spec, section 5). Two objectives, as Salman et al.:
  - mse: minimise ||D(x + e) - x||^2 over the noisy training set (no classifier needed);
  - stability: fine-tune an MSE denoiser with the cross-entropy between f(D(x + e)) and f(x) (the frozen
    clean classifier's own prediction on the clean image as the label), back-propagated through f.
The network is DnCNN (Zhang et al. 2017) sized for CPUs: conv3x3 + ReLU, `--depth - 2` blocks of
conv3x3 + BN + ReLU, conv3x3, predicting the noise, output = input - predicted noise (residual learning).

Writes <out>/model.onnx (input "input" [N, C, H, W] noisy pixels in [0, 1]; output "denoised", same shape)
and <out>/model.json, a denoiser card (kind "direct"; see src/models/denoiser-card.ts). Resumable with
--checkpoint like train.py. Run from the repo root, e.g.
    /usr/bin/python3 training/train_denoiser.py --sigma 0.25 --objective mse --epochs 6 \
        --checkpoint training/checkpoints/cifar10-dncnn-mse-s025.pt --out models/cifar10-dncnn-mse-s025
"""
import argparse
import json
import math
import os
import shlex
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train import (CIFAR10_CLASSES, augment, cifar_cnn, count_macs, load_cifar10_jpeg, log,  # noqa: E402
                   resume_checkpoint, save_checkpoint)


class DnCNN(nn.Module):
    """Residual DnCNN: predicts the noise, returns input - noise. No normalisation: pixels in [0, 1]."""

    def __init__(self, channels=3, width=32, depth=8):
        super().__init__()
        layers = [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
        layers.append(nn.Conv2d(width, channels, 3, padding=1))
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return x - self.body(x)


def load_classifier(checkpoint, device):
    """The frozen clean classifier, rebuilt from the classifier's training checkpoint (train.py --checkpoint)."""
    state = torch.load(checkpoint, map_location='cpu')
    weights = state['model']
    mean = weights['0.mean'].view(-1).tolist()
    std = weights['0.std'].view(-1).tolist()
    model = cifar_cnn(mean, std)
    model.load_state_dict(weights)
    model.eval().to(device)
    for p in model.parameters():
        p.requires_grad_(False)
    return model


@torch.no_grad()
def evaluate(denoiser, classifier, x_u8, y, sigma, seed, batch=250):
    """PSNR (dB) of D(x + e) against x, and, with a classifier, its accuracy on x, x + e and D(x + e)."""
    denoiser.eval()
    gen = torch.Generator().manual_seed(seed)
    se = 0.0
    clean = noisy = denoised = 0
    for i in range(0, len(y), batch):
        x = torch.from_numpy(x_u8[i:i + batch]).float().div_(255)
        e = torch.randn(x.shape, generator=gen) * sigma
        d = denoiser(x + e)
        se += F.mse_loss(d, x, reduction='sum').item()
        if classifier is not None:
            t = torch.from_numpy(y[i:i + batch])
            clean += (classifier(x).argmax(1) == t).sum().item()
            noisy += (classifier(x + e).argmax(1) == t).sum().item()
            denoised += (classifier(d).argmax(1) == t).sum().item()
    mse = se / x_u8.size
    out = {'psnr': round(10 * math.log10(1 / mse), 2)}
    if classifier is not None:
        n = len(y)
        out.update(cleanAccuracy=round(clean / n, 4), noisyAccuracy=round(noisy / n, 4),
                   denoisedAccuracy=round(denoised / n, 4))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--sigma', type=float, required=True, help='Gaussian noise std in [0, 1] pixel scale')
    p.add_argument('--objective', choices=['mse', 'stability'], required=True)
    p.add_argument('--epochs', type=int, required=True)
    p.add_argument('--init', default=None, help='stability: the MSE denoiser checkpoint to start from')
    p.add_argument('--classifier', default=None, help='the clean classifier\'s train.py checkpoint (the frozen f of '
                   'the stability objective; also used to report accuracies)')
    p.add_argument('--classifier-model', default=None, help='model folder of that classifier (recorded in the card)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--out', required=True)
    p.add_argument('--name', default=None)
    p.add_argument('--width', type=int, default=32)
    p.add_argument('--depth', type=int, default=8)
    p.add_argument('--lr', type=float, default=None, help='Adam learning rate (default 1e-3 mse, 1e-4 stability)')
    p.add_argument('--batch-size', type=int, default=128)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--limit-train', type=int, default=0)
    p.add_argument('--cifar-archive', default='/work/shared/datasets/cifar10-jpeg.tar.gz')
    p.add_argument('--cifar-extract-dir', default='/tmp/cifar10-jpeg')
    p.add_argument('--cifar-cache-dir', default='/tmp/cifar10-npy')
    p.add_argument('--checkpoint', default=None)
    p.add_argument('--device', default='cpu')
    p.add_argument('--opset', type=int, default=13)
    args = p.parse_args()
    if args.objective == 'stability' and not (args.init and args.classifier):
        p.error('--objective stability needs --init (an MSE denoiser checkpoint) and --classifier')
    lr = args.lr or (1e-3 if args.objective == 'mse' else 1e-4)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    t_start = time.time()
    device = torch.device(args.device)
    (xtr, ytr), (xte, yte) = load_cifar10_jpeg(args.cifar_archive, args.cifar_extract_dir, args.cifar_cache_dir)
    shape = list(xtr.shape[1:])

    denoiser = DnCNN(shape[0], args.width, args.depth).to(device)
    if args.init:
        denoiser.load_state_dict(torch.load(args.init, map_location=device)['model'])
        log(f'initialised from {args.init}')
    classifier = load_classifier(args.classifier, device) if args.classifier else None
    macs = count_macs(denoiser, shape)
    nparams = sum(q.numel() for q in denoiser.parameters())
    log(f'denoiser: {nparams} parameters, {macs / 1e6:.2f} M multiply-accumulates per image')

    opt = torch.optim.Adam(denoiser.parameters(), lr=lr)
    n_train = len(ytr) if not args.limit_train else min(args.limit_train, len(ytr))
    steps = args.epochs * math.ceil(n_train / args.batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    gen = torch.Generator().manual_seed(args.seed)
    xtr_t = torch.from_numpy(xtr)

    identity = {k: v for k, v in vars(args).items()
                if k not in ('checkpoint', 'device', 'threads', 'out', 'name', 'classifier_model')}
    start_epoch, t_before = resume_checkpoint(args.checkpoint, identity, denoiser, opt, sched, gen, device,
                                              'train_denoiser.py', args.epochs)

    for epoch in range(start_epoch, args.epochs):
        denoiser.train()
        t0 = time.time()
        perm = torch.randperm(len(ytr), generator=gen)[:n_train]
        tot = seen = 0
        for i in range(0, n_train, args.batch_size):
            x = augment(xtr_t[perm[i:i + args.batch_size]].float().div_(255), gen, 4, 1.0, True).to(device)
            e = (torch.randn(x.shape, generator=gen) * args.sigma).to(device)
            d = denoiser(x + e)
            if args.objective == 'mse':
                loss = F.mse_loss(d, x)
            else:
                with torch.no_grad():
                    target = classifier(x).argmax(1)
                loss = F.cross_entropy(classifier(d), target)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * len(x)
            seen += len(x)
        log(f'epoch {epoch + 1}/{args.epochs}: {args.objective} loss {tot / seen:.5f} ({time.time() - t0:.0f} s)')
        save_checkpoint(args.checkpoint, identity, epoch + 1, t_before + time.time() - t_start, denoiser, opt, sched,
                        gen)

    denoiser.to('cpu').eval()
    t_train = t_before + time.time() - t_start
    if classifier is not None:
        classifier.to('cpu')
    metrics = evaluate(denoiser, classifier, xte, yte, args.sigma, seed=args.seed + 12345)
    log(f'test (sigma={args.sigma}): {metrics}')

    os.makedirs(args.out, exist_ok=True)
    onnx_path = os.path.join(args.out, 'model.onnx')
    torch.onnx.export(denoiser, torch.zeros(2, *shape), onnx_path, input_names=['input'], output_names=['denoised'],
                      dynamic_axes={'input': {0: 'N', 2: 'H', 3: 'W'}, 'denoised': {0: 'N', 2: 'H', 3: 'W'}}, opset_version=args.opset,
                      do_constant_folding=True)
    import onnx
    onnx.checker.check_model(onnx.load(onnx_path), full_check=True)
    log(f'exported {onnx_path} ({os.path.getsize(onnx_path)} bytes), onnx.checker OK')

    command = shlex.join(['/usr/bin/python3', 'training/train_denoiser.py'] + sys.argv[1:])
    objective = ('MSE ||D(x+e) - x||^2' if args.objective == 'mse' else
                 'Salman et al.\'s stability objective: cross-entropy of f(D(x+e)) against f(x), through the frozen '
                 f'clean classifier f, starting from the MSE denoiser {args.init}')
    card = {
        'format': 'smooth-reduce-denoiser-card',
        'version': 1,
        'name': args.name or os.path.basename(os.path.normpath(args.out)),
        'kind': 'direct',
        'input': {'layout': 'NCHW', 'shape': shape, 'anySize': True, 'pixelRange': [0, 1], 'channelOrder': 'RGB'},
        'sigma': args.sigma,
        'training': {
            'dataset': 'CIFAR-10, JPEG version (50,000 train / 10,000 test, 32x32 RGB)',
            'objective': objective,
            'classifier': args.classifier_model,
            'epochs': args.epochs,
            'seed': args.seed,
            'augmentation': f'zero padding 4 + random 32x32 crop + horizontal flip, then N(0, {args.sigma}^2) noise',
            'architecture': (f'DnCNN (residual: output = input - predicted noise), {args.depth} conv3x3 layers of '
                             f'{args.width} channels (BN + ReLU inside); {nparams} parameters, {macs / 1e6:.2f} M '
                             f'multiply-accumulates per image; Adam LR {lr} cosine to 0, batch {args.batch_size}'),
            'command': command,
            'seconds': round(t_train),
        },
        'metrics': {'testImages': int(len(yte)), **metrics},
    }
    with open(os.path.join(args.out, 'model.json'), 'w') as f:
        json.dump(card, f, indent=2)
        f.write('\n')
    log(f'wrote {args.out}/model.json; total {time.time() - t_start:.0f} s (training {t_train:.0f} s)')


if __name__ == '__main__':
    main()
