#!/usr/bin/env bash
# Reproduces the video certification runs behind docs/results.md ("Video").
#
#   bash scripts/results-video.sh              # all runs (resumable: rerun to continue)
#   bash scripts/results-video.sh 's050'       # only the runs whose name matches a regex
#
# Clips: every 4th clip of the committed test split data/moving-fmnist (50 clips, 32 frames at
# 12 fps, 32x32 gray); models: models/moving-fmnist-c3d-s050 and -s100 (8-frame windows).
# Smooth-Reduce: 5 windows of 8 frames at stride 6 (frames 0-7, 6-13, 12-19, 18-25, 24-31; frames
# covered by at most 2 windows, so uncorrelated noise divides by sqrt 2). RS: the centred window
# (frames 12-19). Logs and manifests go to docs/results/logs/.
set -euo pipefail
cd "$(dirname "$0")/.."

filter="${1:-}"
out=docs/results/logs
mkdir -p "$out"
cli=(node --import tsx src/cli/main.ts)
common=(--data data/moving-fmnist --skip 4 --n0 100 --n 500 --alpha 0.001 --batch 100 --seed 0 --quiet)

run() {
  local name="$1"
  shift
  [[ -z "$filter" || "$name" =~ $filter ]] || return 0
  echo "$(date -u +%H:%M:%S) $name" >&2
  nice -n 10 "${cli[@]}" certify "${common[@]}" "$@" --out "$out/video-$name.tsv"
}

for s in 050 100; do
  if [ "$s" = 050 ]; then sigma=0.5; else sigma=1.0; fi
  model=(--model "models/moving-fmnist-c3d-s$s" --sigma "$sigma")
  run "s$s-rs" "${model[@]}" --method rs
  run "s$s-max-corr" "${model[@]}" --method max --window-stride 6
  run "s$s-mean-corr" "${model[@]}" --method mean --window-stride 6
  run "s$s-mean-uncorr" "${model[@]}" --method mean --window-stride 6 --noise uncorrelated
  run "s$s-max-uncorr" "${model[@]}" --method max --window-stride 6 --noise uncorrelated
done
