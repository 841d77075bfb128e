#!/usr/bin/env bash
# Turns the logs of scripts/results.sh into the tables (docs/results/tables/*.md) and figures
# (docs/results/*.png) of docs/results.md. Logs that do not exist yet are left out.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dist/src/cli/main.js ] || npm run build
cli=(node dist/src/cli/main.js)
logs=docs/results/logs
mkdir -p docs/results/tables

# [TITLE=... LEGEND=corner] table <name> <radii> <run>:<label>...   (input space, then smoothing space;
# only input space when a run is an outside log without smoothing-space radii, e.g. Cohen et al.'s RS,
# where the two spaces are the same)
table() {
  local name="$1" radii="$2"
  shift 2
  local files=() labels=() outside=0
  for spec in "$@"; do
    local f="$logs/${spec%%:*}.tsv"
    # a spec with a slash names a log file (e.g. one of Cohen et al.'s)
    [[ "${spec%%:*}" == */* ]] && f="${spec%%:*}" && outside=1
    [ -f "$f" ] || continue
    files+=("$f")
    labels+=(--label "${spec#*:}")
  done
  [ ${#files[@]} -gt 0 ] || return 0
  "${cli[@]}" analyze "${files[@]}" "${labels[@]}" --radii "$radii" > "docs/results/tables/$name.md"
  "${cli[@]}" plot "${files[@]}" "${labels[@]}" --out "docs/results/$name.png" --legend "${LEGEND:-bottom-left}" \
    --title "$TITLE" > /dev/null
  if [ "$outside" = 0 ]; then
    "${cli[@]}" analyze "${files[@]}" "${labels[@]}" --radii "$radii" --space smoothing \
      > "docs/results/tables/$name-smoothing.md"
    "${cli[@]}" plot "${files[@]}" "${labels[@]}" --out "docs/results/$name-smoothing.png" --space smoothing \
      --legend "${LEGEND:-bottom-left}" --title "$TITLE, smoothing space" > /dev/null
  fi
  echo "docs/results/tables/$name.md (${#files[@]} runs)"
}

TITLE="Fashion-MNIST, sigma = 0.25 (500 test images, n = 1,000)" \
  table fmnist-s025 0,0.1,0.2,0.3,0.4,0.5 \
  fmnist-s025-rs:RS fmnist-s025-max9:"Smooth-Max, 9 patches" fmnist-s025-mean9:"Smooth-Mean, 9 patches"
TITLE="CIFAR-10, sigma = 0.25 (500 test images, n = 1,000)" \
  table cifar10-s025 0,0.1,0.2,0.3,0.4,0.5 \
  cifar10-s025-rs:RS cifar10-s025-max9:"Smooth-Max, 9 patches" cifar10-s025-mean9:"Smooth-Mean, 9 patches"
TITLE="CIFAR-10, sigma = 0.5 (500 test images, n = 1,000)" \
  table cifar10-s050 0,0.25,0.5,0.75,1 \
  cifar10-s050-rs:RS cifar10-s050-mean9:"Smooth-Mean, 9 patches"
TITLE="Fashion-MNIST, RS vs Smooth-Mean (9 patches) across sigma (500 images, n = 1,000)" LEGEND=right \
  table fmnist-sigmas 0,0.25,0.5,0.75,1,1.5,2 \
  fmnist-s012-rs:"RS, sigma 0.12" fmnist-s012-mean9:"Smooth-Mean, sigma 0.12" \
  fmnist-s025-rs:"RS, sigma 0.25" fmnist-s025-mean9:"Smooth-Mean, sigma 0.25" \
  fmnist-s050-rs:"RS, sigma 0.5" fmnist-s050-mean9:"Smooth-Mean, sigma 0.5" \
  fmnist-s100-rs:"RS, sigma 1.0" fmnist-s100-mean9:"Smooth-Mean, sigma 1.0"
TITLE="Fashion-MNIST, sigma = 0.25: Smooth-Mean variants (500 images, n = 1,000)" \
  table fmnist-s025-ablations 0,0.1,0.2,0.3,0.4,0.5 \
  fmnist-s025-rs:RS fmnist-s025-mean4:"Mean, 4 patches" fmnist-s025-mean9:"Mean, 9 patches" \
  fmnist-s025-mean25:"Mean, 25 patches" fmnist-s025-mean9-softmax:"Mean, 9 patches, softmax" \
  fmnist-s025-mean9-uncorrelated:"Mean, 9 patches, uncorrelated"
TITLE="Fashion-MNIST, sigma = 0.25 (100 test images, n = 10,000)" \
  table fmnist-s025-n10k 0,0.25,0.5,0.6,0.69,0.79 \
  fmnist-s025-rs-n10k:RS fmnist-s025-rs-n10k-adaptive:"RS, adaptive at r = 0.25" \
  fmnist-s025-mean9-n10k:"Smooth-Mean, 9 patches"
TITLE="Fashion-MNIST, sigma = 0.25: controls (500 images, n = 1,000)" LEGEND=bottom-left \
  table fmnist-s025-controls 0,0.1,0.2,0.3,0.4,0.5 \
  fmnist-s025-rs:RS fmnist-s025-zoom1:"zoom only (resize, centre patch)" \
  fmnist-s025-mean9:"Smooth-Mean 9, noise after the resize" \
  fmnist-s025-mean9-inputnoise:"Smooth-Mean 9, noise before the resize"
TITLE="CIFAR-10, sigma = 0.25: controls (500 images, n = 1,000)" LEGEND=bottom-left \
  table cifar10-s025-controls 0,0.1,0.2,0.3,0.4,0.5 \
  cifar10-s025-rs:RS cifar10-s025-zoom1:"zoom only (resize, centre patch)" \
  cifar10-s025-mean9:"Smooth-Mean 9, noise after the resize" \
  cifar10-s025-mean9-inputnoise:"Smooth-Mean 9, noise before the resize"
cohen=../shared/datasets/cohen-smoothing-logs/certify/cifar10/resnet110
TITLE="CIFAR-10, sigma = 0.25: RS, Cohen et al.'s training recipe" LEGEND=right \
  table cifar10-cohen-s025 0,0.25,0.5,0.75,1 \
  cifar10-cohen-s025-rs-n10k:"CNN, Cohen recipe, n = 10,000 (ours)" \
  "$cohen/noise_0.25/test/sigma_0.25:ResNet-110, n = 100,000 (Cohen et al.)"

# Paste every table into docs/results.md between its markers:
#   <!-- table: NAME -->  ...  <!-- /table -->
node -e '
const fs = require("fs");
const doc = "docs/results.md";
if (!fs.existsSync(doc)) process.exit(0);
const text = fs.readFileSync(doc, "utf8").replace(
  /(<!-- table: ([\w-]+) -->\n)[\s\S]*?(<!-- \/table -->)/g,
  (all, open, name, close) => {
    const file = `docs/results/tables/${name}.md`;
    return fs.existsSync(file) ? open + fs.readFileSync(file, "utf8").trimEnd() + "\n" + close : all;
  },
);
fs.writeFileSync(doc, text);
'
echo "docs/results.md: tables updated"
