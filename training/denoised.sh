#!/usr/bin/env bash
# Denoised smoothing models (issue 26), in order, each resumable (rerun this script after an interruption):
# the clean CIFAR-10 classifier (no noise; the Cohen-recipe CNN's architecture), then per sigma an MSE
# DnCNN denoiser and its stability fine-tune through the frozen clean classifier.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
CK=training/checkpoints
EPOCHS_CLF=${EPOCHS_CLF:-8}
LR_STEP_CLF=${LR_STEP_CLF:-3}
EPOCHS_MSE=${EPOCHS_MSE:-3}
EPOCHS_STAB=${EPOCHS_STAB:-2}
# one thread: on a shared 2-core machine two threads spin against other work
THREADS=${THREADS:-1}
SIGMAS=${SIGMAS:-"0.25 0.5"}

if [ ! -f models/cifar10-cnn-clean/model.json ]; then
  $PY training/train.py --dataset cifar10 --sigma 0 --arch cnn --recipe cohen --epochs "$EPOCHS_CLF" \
    --lr-step "$LR_STEP_CLF" --seed 0 --threads "$THREADS" --checkpoint $CK/cifar10-cnn-clean.pt --out models/cifar10-cnn-clean \
    2>&1 | tee -a $CK/cifar10-cnn-clean.log
fi
for s in $SIGMAS; do
  tag=$(printf 's%03d' "$(echo "$s * 100" | bc | cut -d. -f1)")
  if [ ! -f models/cifar10-dncnn-mse-$tag/model.json ]; then
    $PY training/train_denoiser.py --sigma "$s" --objective mse --epochs "$EPOCHS_MSE" --threads "$THREADS" \
      --classifier $CK/cifar10-cnn-clean.pt --classifier-model models/cifar10-cnn-clean \
      --checkpoint $CK/cifar10-dncnn-mse-$tag.pt --out models/cifar10-dncnn-mse-$tag \
      2>&1 | tee -a $CK/cifar10-dncnn-mse-$tag.log
  fi
  if [ ! -f models/cifar10-dncnn-stab-$tag/model.json ]; then
    $PY training/train_denoiser.py --sigma "$s" --objective stability --epochs "$EPOCHS_STAB" --threads "$THREADS" \
      --init $CK/cifar10-dncnn-mse-$tag.pt --classifier $CK/cifar10-cnn-clean.pt \
      --classifier-model models/cifar10-cnn-clean \
      --checkpoint $CK/cifar10-dncnn-stab-$tag.pt --out models/cifar10-dncnn-stab-$tag \
      2>&1 | tee -a $CK/cifar10-dncnn-stab-$tag.log
  fi
done
