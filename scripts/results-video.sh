#!/usr/bin/env bash
# Reproduces the video certification runs behind docs/results.md ("Video").
#
#   bash scripts/results-video.sh              # all runs (resumable: rerun to continue)
#   bash scripts/results-video.sh 's050'       # only the runs whose name matches a regex
#
# Clips: every 7th of the first 140 clips of the committed test split data/moving-fmnist (20 clips,
# 5 per class, all three containers), their first 20 frames at 12 fps, 32x32 gray; models:
# models/moving-fmnist-c3d-s050 and -s100 (8-frame windows).
# Smooth-Reduce: 3 windows of 8 frames at stride 6 (frames 0-7, 6-13, 12-19; frames covered by at
# most 2 windows, so uncorrelated noise divides by sqrt 2). RS: the centred window (frames 6-13).
# Logs and manifests go to docs/results/logs/. The two sigmas run in parallel.
set -euo pipefail
cd "$(dirname "$0")/.."

filter="${1:-}"
out=docs/results/logs
mkdir -p "$out"
cli=(node --import tsx src/cli/main.ts)
common=(--data data/moving-fmnist --frames 20 --skip 7 --max 140 --n0 100 --n 500 --alpha 0.001 --batch 100 --seed 0 --quiet)

run() {
  local name="$1"
  shift
  [[ -z "$filter" || "$name" =~ $filter ]] || return 0
  echo "$(date -u +%H:%M:%S) $name" >&2
  nice -n 10 "${cli[@]}" certify "${common[@]}" "$@" --out "$out/video-$name.tsv"
}

chain() {
  local s="$1" sigma="$2"
  local model=(--model "models/moving-fmnist-c3d-s$s" --sigma "$sigma")
  run "s$s-rs" "${model[@]}" --method rs
  run "s$s-mean-corr" "${model[@]}" --method mean --window-stride 6
  run "s$s-mean-uncorr" "${model[@]}" --method mean --window-stride 6 --noise uncorrelated
  run "s$s-max-corr" "${model[@]}" --method max --window-stride 6
  run "s$s-max-uncorr" "${model[@]}" --method max --window-stride 6 --noise uncorrelated
}

chain 100 1.0 &
chain 050 0.5 &
wait
