#!/usr/bin/env bash
# Reproduces every certification run behind docs/results.md.
#
#   bash scripts/results.sh                       # all runs (resumable: rerun to continue)
#   bash scripts/results.sh fmnist                # only the runs whose name matches a regex
#   bash scripts/results.sh '^fmnist-s025-(rs|max9|mean9)$'
#
# Logs and manifests go to docs/results/logs/. An interrupted run loses nothing: rerunning the
# script resumes every log after its last complete line. CIFAR-10 runs need the JPEG test set:
# set CIFAR_DIR or have ../shared/datasets/cifar10-jpeg.tar.gz (extracted to data/cifar10-jpeg).
set -euo pipefail
cd "$(dirname "$0")/.."

filter="${1:-}"
out=docs/results/logs
mkdir -p "$out"
[ -f dist/src/cli/main.js ] || npm run build
cli=(node "${SMOOTH_REDUCE_CLI:-dist/src/cli/main.js}")

fmnist=data/fashion-mnist-sample
cifar="${CIFAR_DIR:-data/cifar10-jpeg/test}"

# Common statistics: n0 = 100, n = 1,000, alpha = 0.001, seed 0 (a run may override n).
common=(--n0 100 --n 1000 --alpha 0.001 --batch 500 --seed 0 --quiet)
# Fashion-MNIST: every 2nd of the bundled first 1,000 test images (500 inputs).
fm_sel=(--data "$fmnist" --skip 2)
# CIFAR-10: every 20th test image of the JPEG copy (500 inputs). Its test folder is sorted by class,
# so this is a class-balanced sample (50 per class), NOT the 500 images of Cohen et al.'s --skip 20
# (which runs over the official, unsorted test order); their logs cannot be paired with ours.
cf_sel=(--data "$cifar" --skip 20)

run() {
  local name="$1"
  shift
  [[ -z "$filter" || "$name" =~ $filter ]] || return 0
  if [[ "$name" == cifar* && ! -d "$cifar" ]]; then
    if [ -f ../shared/datasets/cifar10-jpeg.tar.gz ]; then
      mkdir -p data/cifar10-jpeg
      tar xzf ../shared/datasets/cifar10-jpeg.tar.gz -C data/cifar10-jpeg
    else
      echo "skipping $name: no CIFAR-10 test folder at $cifar (set CIFAR_DIR)" >&2
      return 0
    fi
  fi
  echo "$(date -u +%H:%M:%S) $name"
  # a later --out (a shard's) overrides this one
  "${cli[@]}" certify "${common[@]}" --out "$out/$name.tsv" "$@"
}

fm25=(--model models/fmnist-cnn-s025 --sigma 0.25 "${fm_sel[@]}")
cf25=(--model models/cifar10-cnn-s025 --sigma 0.25 "${cf_sel[@]}")
cf50=(--model models/cifar10-cnn-s050 --sigma 0.5 "${cf_sel[@]}")

# 1. Fashion-MNIST, sigma 0.25: RS vs Smooth-Max vs Smooth-Mean (28 -> 32, stride 2: 9 patches).
run fmnist-s025-rs "${fm25[@]}" --method rs
run fmnist-s025-max9 "${fm25[@]}" --method max --resize 32 --stride 2
run fmnist-s025-mean9 "${fm25[@]}" --method mean --resize 32 --stride 2
# 2. CIFAR-10, sigma 0.25 (32 -> 36, stride 2: 9 patches, the paper's setting).
run cifar10-s025-rs "${cf25[@]}" --method rs
run cifar10-s025-mean9 "${cf25[@]}" --method mean --resize 36 --stride 2
# 3. Adaptive certification: RS, sigma 0.25, n = 10,000 on 100 images (every 5th below 500),
#    all n samples vs stopping once the certificate at r = 0.25 (input space) is decided.
fm25a=(--model models/fmnist-cnn-s025 --sigma 0.25 --data "$fmnist" --skip 5 --max 500 --n 10000)
run fmnist-s025-rs-n10k "${fm25a[@]}" --method rs
run fmnist-s025-rs-n10k-adaptive "${fm25a[@]}" --method rs --adaptive-radius 0.25 --looks 5
# 4. Fashion-MNIST, other noise levels.
for s in 012 050 100; do
  sigma=$(awk "BEGIN { print $s / 100 }")
  fm=(--model "models/fmnist-cnn-s$s" --sigma "$sigma" "${fm_sel[@]}")
  run "fmnist-s$s-rs" "${fm[@]}" --method rs
  run "fmnist-s$s-mean9" "${fm[@]}" --method mean --resize 32 --stride 2
done
# 5. Fashion-MNIST, sigma 0.25 ablations: softmax vs logits, uncorrelated vs correlated noise,
#    4 patches (stride 4) vs 9.
run fmnist-s025-mean9-softmax "${fm25[@]}" --method mean --resize 32 --stride 2 --aggregate softmax
run fmnist-s025-mean9-uncorrelated "${fm25[@]}" --method mean --resize 32 --stride 2 --noise uncorrelated
run fmnist-s025-mean4 "${fm25[@]}" --method mean --resize 32 --stride 4
# 6. CIFAR-10: Smooth-Max, and sigma 0.5.
run cifar10-s025-max9 "${cf25[@]}" --method max --resize 36 --stride 2
run cifar10-s050-rs "${cf50[@]}" --method rs
run cifar10-s050-mean9 "${cf50[@]}" --method mean --resize 36 --stride 2
# 7. Fashion-MNIST, 25 patches (stride 1).
run fmnist-s025-mean25 "${fm25[@]}" --method mean --resize 32 --stride 1
# 8. Fashion-MNIST, sigma 0.25, n = 10,000 (same 100 images as 3.): Smooth-Mean without the
#    radius cap that n = 1,000 imposes (2.46 sigma).
run fmnist-s025-mean9-n10k "${fm25a[@]}" --method mean --resize 32 --stride 2
# 9. Input-specific sample sizes (--sample-loss f: as many of the n samples as keep the expected
#    radius within the fraction f of n's), RS, sigma 0.25, n = 10,000: Fashion-MNIST on the 100
#    images of 3.; CIFAR-10 on every 100th test image (100 images, 10 per class).
run fmnist-s025-rs-n10k-iss0.02 "${fm25a[@]}" --method rs --sample-loss 0.02
run fmnist-s025-rs-n10k-iss0.1 "${fm25a[@]}" --method rs --sample-loss 0.1
cf25a=(--model models/cifar10-cnn-s025 --sigma 0.25 --data "$cifar" --skip 100 --n 10000)
run cifar10-s025-rs-n10k "${cf25a[@]}" --method rs
run cifar10-s025-rs-n10k-iss0.02 "${cf25a[@]}" --method rs --sample-loss 0.02
run cifar10-s025-rs-n10k-iss0.1 "${cf25a[@]}" --method rs --sample-loss 0.1
# 10. Like for like with Cohen et al. (issue 12): CIFAR-10 models trained with their recipe (no zoom;
#     training/README.md), RS at n = 10,000 on the class-balanced 500 (--skip 20). Skipped until the
#     model is trained. In two shards (every 2nd of the 500: each shard is itself class-balanced, so
#     a finished first shard is a fair 250-image result), merged once both are done.
cohen_trained() {
  [ -f "models/cifar10-cnn-cohen-s$1/model.onnx" ] || {
    echo "skipping the Cohen-recipe runs at sigma $(awk "BEGIN { print $1 / 100 }"): models/cifar10-cnn-cohen-s$1 not trained yet" >&2
    return 1
  }
}
# sharded NAME [COMPANION:SPEC...] -- ARGS...: the run in two shards (--shard k/2) under shards/, with
# its companions (--also out=shards/COMPANION.k.tsv,SPEC), each log merged once both shards are
# finished. COHEN_SHARDS=0 runs only the first shard: every 2nd image of a class-balanced sample is
# still class-balanced, so a finished first shard is a fair result on half the images.
sharded() {
  local name="$1" companions=() k c log
  shift
  while [ "$1" != -- ]; do companions+=("$1"); shift; done
  shift
  [[ -z "$filter" || "$name" =~ $filter ]] || return 0
  [ -f "$out/$name.tsv" ] && return 0
  mkdir -p "$out/shards"
  for k in ${COHEN_SHARDS:-0 1}; do
    local also=()
    for c in "${companions[@]}"; do also+=(--also "out=$out/shards/${c%%:*}.$k.tsv,${c#*:}"); done
    run "$name" "$@" --shard "$k/2" --out "$out/shards/$name.$k.tsv" "${also[@]}"
  done
  for log in "$name" "${companions[@]%%:*}"; do
    if grep -qs '"finished": "' "$out/shards/$log.0.tsv.manifest.json" &&
      grep -qs '"finished": "' "$out/shards/$log.1.tsv.manifest.json"; then
      "${cli[@]}" merge --quiet "$out/shards/$log.0.tsv" "$out/shards/$log.1.tsv" --out "$out/$log.tsv"
    fi
  done
}
for s in 025 050 100; do
  cohen_trained "$s" || continue
  sigma=$(awk "BEGIN { print $s / 100 }")
  sharded "cifar10-cohen-s$s-rs-n10k" -- --model "models/cifar10-cnn-cohen-s$s" --sigma "$sigma" \
    "${cf_sel[@]}" --n 10000 --method rs
done
# 11. Controls for the mechanism (issue 12), Fashion-MNIST sigma 0.25, the 500 images of 1.:
#     zoom only (resize 28 -> 32, then the one centre patch: --max-patches 1 keeps the middle one)
#     and Smooth-Mean with the noise added before the resize (--noise input: radii need no 1/||R||).
run fmnist-s025-zoom1 "${fm25[@]}" --method mean --resize 32 --stride 2 --max-patches 1
run fmnist-s025-mean9-inputnoise "${fm25[@]}" --method mean --resize 32 --stride 2 --noise input
#     The same on CIFAR-10, sigma 0.25 (32 -> 36), the 500 images of 2.
run cifar10-s025-zoom1 "${cf25[@]}" --method mean --resize 36 --stride 2 --max-patches 1
run cifar10-s025-mean9-inputnoise "${cf25[@]}" --method mean --resize 36 --stride 2 --noise input
# 12. The paired comparison on the Cohen-recipe models (issue 12), n = 10,000, every 100th test image
#     (100 images, 10 per class; a subset of the 500 of 10., so RS pairs with them): Smooth-Mean with
#     9 patches (32 -> 36, stride 2, noise after the resize) and, from the same model calls
#     (--also), Smooth-Max, both over softmax, 4 patches (stride 4) and zoom only (the centre
#     patch); then Smooth-Mean and Smooth-Max with the noise before the resize (--noise input).
for s in 025 050 100; do
  cohen_trained "$s" || continue
  sigma=$(awk "BEGIN { print $s / 100 }") c="cifar10-cohen-s$s"
  sr=(--model "models/cifar10-cnn-cohen-s$s" --sigma "$sigma" --data "$cifar" --skip 100 --n 10000
    --method mean --resize 36 --stride 2)
  sharded "$c-mean9-n10k" "$c-max9-n10k:method=max" "$c-mean9-softmax-n10k:aggregate=softmax" \
    "$c-max9-softmax-n10k:method=max,aggregate=softmax" "$c-mean4-n10k:stride=4" \
    "$c-zoom1-n10k:max-patches=1" -- "${sr[@]}"
  sharded "$c-mean9-inputnoise-n10k" "$c-max9-inputnoise-n10k:method=max" -- "${sr[@]}" --noise input
done
# 13. Patch count on the strongest model (Cohen recipe, sigma 0.25), n = 1,000, the 100 images of
#     12.: 25 patches (stride 1) and, from the same calls, 9 (stride 2), 4 (stride 4), 1 (centre).
if cohen_trained 025; then
  p="$out/cifar10-cohen-s025"
  run cifar10-cohen-s025-mean25 --model models/cifar10-cnn-cohen-s025 --sigma 0.25 --data "$cifar" --skip 100 \
    --method mean --resize 36 --stride 1 --also "out=$p-max25.tsv,method=max" \
    --also "out=$p-mean9.tsv,stride=2" --also "out=$p-mean4.tsv,stride=4" --also "out=$p-zoom1.tsv,max-patches=1"
fi
# 14. n = 100,000, as the literature (issue 12: the top of the curve is then not the n = 10,000 cap),
#     sigma 0.25, every 500th test image (20 images, 2 per class; a subset of the 100 of 12.): RS,
#     and Smooth-Mean 9 with Smooth-Max 9 from the same model calls.
if cohen_trained 025; then
  c=cifar10-cohen-s025
  big=(--model models/cifar10-cnn-cohen-s025 --sigma 0.25 --data "$cifar" --skip 500 --n 100000)
  sharded "$c-rs-n100k" -- "${big[@]}" --method rs
  sharded "$c-mean9-n100k" "$c-max9-n100k:method=max" -- "${big[@]}" --method mean --resize 36 --stride 2
fi
# 15. The translation control (issue 29): Smooth-Mean over translations instead of a zoom (--pad 2:
#     the input zero-padded to 36 x 36, norm 1, patches a pad-4 crop-trained model has seen), on the
#     100 images of 12., n = 10,000, every sigma: 25 translations (stride 1) and, from the same model
#     calls, 9 (stride 2), Smooth-Max 25, and the centre translation alone (the input itself: RS with
#     its noise drawn on the canvas, a sanity check that should pair level with RS).
for s in 025 050 100; do
  cohen_trained "$s" || continue
  sigma=$(awk "BEGIN { print $s / 100 }") c="cifar10-cohen-s$s"
  sharded "$c-pad25-n10k" "$c-pad9-n10k:stride=2" "$c-padmax25-n10k:method=max" "$c-pad1-n10k:max-patches=1" -- \
    --model "models/cifar10-cnn-cohen-s$s" --sigma "$sigma" --data "$cifar" --skip 100 --n 10000 \
    --method mean --pad 2 --stride 1
done
# 16. Denoised smoothing (issue 26): a CIFAR-10 classifier trained WITHOUT noise (the Cohen-recipe CNN's
#     architecture), alone and behind DnCNN denoisers (MSE, then Salman et al.'s stability fine-tune),
#     n = 10,000, every 200th test image (50 images, 5 per class; a subset of the 500 of 10., so the
#     Cohen-recipe RS runs pair with them); Smooth-Mean 9 on the stability denoiser on every 500th
#     (20 images). Models from training/denoised.sh; a run whose model is missing is skipped.
have() {
  for m in "$@"; do
    [ -f "models/$m/model.onnx" ] || {
      echo "skipping: models/$m not trained yet (training/denoised.sh)" >&2
      return 1
    }
  done
}
for s in 025 050; do
  sigma=$(awk "BEGIN { print $s / 100 }")
  dn=(--model models/cifar10-cnn-clean --sigma "$sigma" --data "$cifar" --skip 200 --n 10000 --method rs)
  have cifar10-cnn-clean && run "cifar10-clean-s$s-rs-n10k" "${dn[@]}"
  for obj in mse stab; do
    have cifar10-cnn-clean "cifar10-dncnn-$obj-s$s" &&
      run "cifar10-clean-$obj-s$s-rs-n10k" "${dn[@]}" --denoiser "models/cifar10-dncnn-$obj-s$s"
  done
done
# RS with the same denoiser on those 20 images (every 500th is not in the every-200th sample), to pair with
have cifar10-cnn-clean cifar10-dncnn-stab-s025 &&
  run cifar10-clean-stab-s025-rs-n10k-20img --model models/cifar10-cnn-clean --sigma 0.25 --data "$cifar" \
    --skip 500 --n 10000 --method rs --denoiser models/cifar10-dncnn-stab-s025
have cifar10-cnn-clean cifar10-dncnn-stab-s025 &&
  run cifar10-clean-stab-s025-mean9-n10k --model models/cifar10-cnn-clean --sigma 0.25 --data "$cifar" \
    --skip 500 --n 10000 --method mean --resize 36 --stride 2 --denoiser models/cifar10-dncnn-stab-s025
echo "$(date -u +%H:%M:%S) done"
