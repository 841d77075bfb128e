#!/usr/bin/env bash
# The experiments this 2-core machine cannot run (issue 29), for a machine with an NVIDIA GPU:
# ResNet-110 trained with Cohen et al.'s CIFAR-10 recipe for their 90 epochs at sigma 0.25 / 0.5 / 1.0,
# and its certification with this tool at n = 100,000 on 100 test images (RS, Smooth-Mean 9 by zoom,
# Smooth-Mean 9 / 25 by translation). One command per step; every step is resumable: rerun the same
# command after an interruption or a time limit and it continues (training from the checkpoint written
# after every epoch, certification from the log's last complete line). Steps already done are skipped.
#
#   bash training/gpu-recipe.sh pack                    # HERE, once: .gpu/ (node, built CLI, runtime deps)
#   bash training/gpu-recipe.sh train 0.25              # THERE (PyTorch + CUDA): 90 epochs, checkpointed
#   bash training/gpu-recipe.sh certify 0.25 rs         # THERE (Node): n = 100,000, 100 images
#   bash training/gpu-recipe.sh certify 0.25 mean9      #   Smooth-Mean, resize 36, stride 2 (9 patches)
#   bash training/gpu-recipe.sh certify 0.25 pad9       #   Smooth-Mean of translations, --pad 2 --stride 2
#   bash training/gpu-recipe.sh certify 0.25 pad25      #   ... --pad 2 --stride 1 (25 translations)
#   bash training/gpu-recipe.sh status                  # what is done, for every sigma
#
# Environment: STEP_SECONDS (default: none) stops a step after that many seconds, e.g. to fit a
# lease's per-command limit (training loses at most the epoch in progress; certification loses
# nothing); THREADS (default 8) CPU threads for the data augmentation; DEVICE (default cuda) the
# certification's ONNX Runtime device.
#
# What travels to the GPU machine: the repository plus
#   - the CIFAR-10 JPEG archive (19.6 MB) at .gpu/cifar10-jpeg.tar.gz (pack copies it);
#   - for certification, Node 20: the GPU machine may have none. `pack` puts this machine's node binary,
#     xz-compressed, at .gpu/node.xz (24.1 MB for node 20.20.2), the built CLI (dist/) and the
#     production dependencies (npm ci --omit=dev, ONNX Runtime's Linux x64 binaries only) at
#     .gpu/app.tar.xz, and the test split alone at .gpu/cifar10-test.tar.gz; `certify` unpacks them
#     under /tmp. Carry those (and `training/checkpoints` between training sessions). Where a lease
#     limits what travels (64 MiB with the repository's 33 MB of tracked files), carry only what a
#     step needs: training, the 19.6 MB archive and its checkpoint (about 14 MB for ResNet-110 with
#     SGD momentum, estimated from 1.7 M parameters, not measured); certification, the three above.
#   - ONNX Runtime's CUDA execution provider is not in the npm package (.npmrc skips its download).
#     On a machine with network access, CUDA 12 and cuDNN 9: `npm rebuild onnxruntime-node
#     --onnxruntime-node-install=cuda12` (README, GPU) before `pack`. Without it `--device cuda` stops
#     with a one-line error; DEVICE=cpu certifies on the CPU cores instead (slow for ResNet-110: not
#     measured here). Not run on a GPU yet: nothing here is measured.
#
# SmoothAdv training (Salman et al. 2019) is not in this recipe: train.py has no adversarial step.
set -euo pipefail
cd "$(dirname "$0")/.."
step="${1:-}"
PY=${PY:-python3}
THREADS=${THREADS:-8}
DEVICE=${DEVICE:-cuda}
CK=training/checkpoints
G=.gpu
limit=()
[ -n "${STEP_SECONDS:-}" ] && limit=(timeout --signal=INT "$STEP_SECONDS")

tag() { printf 's%03d' "$(awk "BEGIN { printf \"%d\", $1 * 100 + 0.5 }")"; }
model_of() { echo "models/cifar10-resnet110-cohen-$(tag "$1")"; }
need_sigma() {
  case "${1:-}" in
    0.25 | 0.5 | 1.0) ;;
    *) echo "gpu-recipe: sigma must be 0.25, 0.5 or 1.0, got '${1:-}'" >&2 && exit 2 ;;
  esac
}

case "$step" in
  pack)
    mkdir -p "$G"
    exclude=$(git rev-parse --git-path info/exclude)
    grep -qx '/.gpu/' "$exclude" 2>/dev/null || echo '/.gpu/' >> "$exclude"
    [ -f "$G/cifar10-jpeg.tar.gz" ] || cp "${CIFAR_ARCHIVE:-../shared/datasets/cifar10-jpeg.tar.gz}" "$G/"
    [ -f "$G/node.xz" ] || xz -T1 -6 -c "$(command -v node)" > "$G/node.xz"
    # certification reads only the test split: a small archive of it (training carries the whole one)
    if [ ! -f "$G/cifar10-test.tar.gz" ]; then
      tmp=$(mktemp -d)
      tar xzf "$G/cifar10-jpeg.tar.gz" -C "$tmp"
      tar czf "$G/cifar10-test.tar.gz" -C "$tmp" test
      rm -rf "$tmp"
    fi
    if [ ! -f "$G/app.tar.xz" ]; then
      npm run build
      app=$(mktemp -d)
      cp -r dist package.json package-lock.json .npmrc "$app/"
      (cd "$app" && npm ci --omit=dev --ignore-scripts)
      # ONNX Runtime: keep the Linux x64 binaries (and a CUDA provider fetched beforehand)
      ort="$app/node_modules/onnxruntime-node/bin"
      find "$ort" -mindepth 3 -maxdepth 3 -type d ! -path '*/linux/x64' -exec rm -rf {} +
      cp -r node_modules/onnxruntime-node/bin/napi-v*/linux/x64/. "$ort"/napi-v*/linux/x64/
      tar cJf "$G/app.tar.xz" -C "$app" .
      rm -rf "$app"
    fi
    du -sh "$G"/* >&2
    echo "pack: carry .gpu/cifar10-jpeg.tar.gz to train; .gpu/{node.xz,app.tar.xz,cifar10-test.tar.gz} to certify" >&2
    ;;
  train)
    need_sigma "${2:-}"
    s=$2 m=$(model_of "$2") t=$(tag "$2")
    if [ -f "$m/model.json" ]; then
      echo "train: $m exists" >&2
      exit 0
    fi
    mkdir -p "$CK"
    # Cohen et al.'s recipe (train.py --recipe cohen): pad-4 crop + flip, SGD 0.1 momentum 0.9,
    # weight decay 1e-4, batch 256, LR x0.1 every 30 epochs, 90 epochs; ResNet-110 (1.7 M parameters)
    "${limit[@]}" "$PY" training/train.py --dataset cifar10 --sigma "$s" --arch resnet110 --recipe cohen \
      --epochs 90 --lr-step 30 --seed 0 --device cuda --threads "$THREADS" \
      --cifar-archive "$G/cifar10-jpeg.tar.gz" \
      --checkpoint "$CK/cifar10-resnet110-cohen-$t.pt" --out "$m" 2>&1 | tee -a "$CK/cifar10-resnet110-cohen-$t.log"
    ;;
  certify)
    need_sigma "${2:-}"
    s=$2 m=$(model_of "$2") t=$(tag "$2") method="${3:-}"
    case "$method" in
      rs) opts=(--method rs) ;;
      mean9) opts=(--method mean --resize 36 --stride 2) ;;
      max9) opts=(--method max --resize 36 --stride 2) ;;
      pad9) opts=(--method mean --pad 2 --stride 2) ;;
      pad25) opts=(--method mean --pad 2 --stride 1) ;;
      mean25) opts=(--method mean --resize 36 --stride 1) ;;
      *) echo "gpu-recipe: method must be rs, mean9, max9, pad9, pad25 or mean25, got '$method'" >&2 && exit 2 ;;
    esac
    [ -f "$m/model.json" ] || {
      echo "certify: no model $m yet (bash training/gpu-recipe.sh train $s)" >&2
      exit 1
    }
    node=node
    if ! command -v node > /dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
      [ -x /tmp/node ] || xz -dc "$G/node.xz" > /tmp/node && chmod +x /tmp/node
      node=/tmp/node
    fi
    cli=dist/src/cli/main.js
    if [ ! -f "$cli" ] || [ ! -d node_modules/onnxruntime-node ]; then
      [ -f /tmp/sr-app/dist/src/cli/main.js ] || { mkdir -p /tmp/sr-app && tar xJf "$G/app.tar.xz" -C /tmp/sr-app; }
      cli=/tmp/sr-app/dist/src/cli/main.js
    fi
    data=/tmp/cifar10-jpeg/test
    [ -d "$data" ] || { mkdir -p /tmp/cifar10-jpeg && tar xzf "$G/cifar10-test.tar.gz" -C /tmp/cifar10-jpeg; }
    mkdir -p docs/results/logs
    # 100 images: every 100th of the class-sorted JPEG test folder (10 per class), as results.sh's
    # n = 10,000 runs; n0 = 100, n = 100,000, alpha = 0.001, seed 0 (the paper's n)
    "${limit[@]}" "$node" "$cli" certify --model "$m" --sigma "$s" --data "$data" --skip 100 \
      --n0 100 --n 100000 --alpha 0.001 --batch 2000 --seed 0 --device "$DEVICE" --quiet \
      --out "docs/results/logs/cifar10-resnet110-cohen-$t-$method-n100k.tsv" "${opts[@]}"
    ;;
  status)
    for s in 0.25 0.5 1.0; do
      t=$(tag "$s") ck="$CK/cifar10-resnet110-cohen-$t.pt"
      epochs=none
      [ -f "$ck" ] && epochs=$(grep -o 'epoch [0-9]*/90' "$CK/cifar10-resnet110-cohen-$t.log" 2>/dev/null | tail -1 || true)
      [ -f "$(model_of "$s")/model.json" ] && epochs="trained ($(model_of "$s"))"
      echo "sigma $s: training ${epochs:-checkpoint without log}"
      for method in rs mean9 max9 pad9 pad25 mean25; do
        log="docs/results/logs/cifar10-resnet110-cohen-$t-$method-n100k.tsv"
        [ -f "$log" ] && echo "  $method: $(($(wc -l < "$log") - 1)) of 100 images certified"
      done
    done
    ;;
  *)
    sed -n '2,31p' "$0" >&2
    exit 2
    ;;
esac
