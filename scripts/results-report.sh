#!/usr/bin/env bash
# Turns the logs of scripts/results.sh into the tables (docs/results/tables/*.md) and figures
# (docs/results/*.png) of docs/results.md. Logs that do not exist yet are left out.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dist/src/cli/main.js ] || npm run build
cli=(node dist/src/cli/main.js)
logs=docs/results/logs
mkdir -p docs/results/tables

# The log of a run: the whole run, or, while only its first shard is finished (results.sh, sharded
# runs), that shard (a class-balanced half of the images; the table's inputs column says how many).
logfile() {
  if [ -f "$logs/$1.tsv" ] || ! grep -qs '"finished": "' "$logs/shards/$1.0.tsv.manifest.json"; then
    echo "$logs/$1.tsv"
  else
    echo "$logs/shards/$1.0.tsv"
  fi
}

# pairs <table> <scripts/paired-table.ts arguments...>: docs/results/tables/<table>.md, or no file
# when none of the pairs' logs exist yet; each table's abstention p-values Holm-adjusted over its pairs
pairs() {
  local name="$1"
  shift
  node --import tsx scripts/paired-table.ts --adjust holm "$@" > "docs/results/tables/$name.md"
  [ -s "docs/results/tables/$name.md" ] || rm "docs/results/tables/$name.md"
}

# [TITLE=... LEGEND=corner COMMON=1 GROUP=k] table <name> <radii> <run>:<label>...   (input space, then smoothing
# space; only input space when a run is an outside log without smoothing-space radii, e.g. Cohen et
# al.'s RS, where the two spaces are the same; COMMON=1: only the inputs every run has; GROUP=k: runs
# in consecutive groups of k share a colour in the figures)
table() {
  local name="$1" radii="$2"
  shift 2
  local files=() labels=() outside=0 common=()
  [ -n "${COMMON:-}" ] && common=(--common)
  for spec in "$@"; do
    local f
    f=$(logfile "${spec%%:*}")
    # a spec with a slash names a log file (e.g. one of Cohen et al.'s)
    [[ "${spec%%:*}" == */* ]] && f="${spec%%:*}" && outside=1
    [ -f "$f" ] || continue
    files+=("$f")
    labels+=(--label "${spec#*:}")
  done
  [ ${#files[@]} -gt 0 ] || return 0
  "${cli[@]}" analyze "${files[@]}" "${labels[@]}" "${common[@]}" --radii "$radii" > "docs/results/tables/$name.md"
  "${cli[@]}" plot "${files[@]}" "${labels[@]}" "${common[@]}" --out "docs/results/$name.png" \
    --legend "${LEGEND:-bottom-left}" --group "${GROUP:-1}" --title "$TITLE" > /dev/null
  if [ "$outside" = 0 ]; then
    "${cli[@]}" analyze "${files[@]}" "${labels[@]}" "${common[@]}" --radii "$radii" --space smoothing \
      > "docs/results/tables/$name-smoothing.md"
    "${cli[@]}" plot "${files[@]}" "${labels[@]}" "${common[@]}" --out "docs/results/$name-smoothing.png" \
      --space smoothing --legend "${LEGEND:-bottom-left}" --group "${GROUP:-1}" --title "$TITLE, smoothing space" > /dev/null
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
TITLE="CIFAR-10: RS with Cohen et al.'s training recipe, ours (CNN, n = 10,000) and theirs (ResNet-110, n = 100,000)" \
  LEGEND=top-right GROUP=2 table cifar10-cohen-rs 0,0.25,0.5,0.75,1,1.5,2 \
  cifar10-cohen-s025-rs-n10k:"sigma 0.25, ours" "$cohen/noise_0.25/test/sigma_0.25:sigma 0.25, Cohen et al." \
  cifar10-cohen-s050-rs-n10k:"sigma 0.5, ours" "$cohen/noise_0.50/test/sigma_0.50:sigma 0.5, Cohen et al." \
  cifar10-cohen-s100-rs-n10k:"sigma 1.0, ours" "$cohen/noise_1.00/test/sigma_1.00:sigma 1.0, Cohen et al."
# the paired runs on the Cohen-recipe models (results.sh 12.): every reduction on the same 100 images
for s in 025 050 100; do
  sigma=$(awk "BEGIN { print $s / 100 }")
  radii=$(awk "BEGIN { s = $s / 100; print 0 \",\" s / 2 \",\" s \",\" 1.5 * s \",\" 2 * s \",\" 3 * s }")
  c="cifar10-cohen-s$s"
  TITLE="CIFAR-10, sigma = $sigma, Cohen recipe: paired (100 images, n = 10,000)" COMMON=1 \
    table "$c-paired" "$radii" "$c-rs-n10k:RS" "$c-mean9-n10k:Mean 9" "$c-max9-n10k:Max 9" \
    "$c-mean9-softmax-n10k:Mean 9, softmax" "$c-max9-softmax-n10k:Max 9, softmax" "$c-mean4-n10k:Mean 4" \
    "$c-zoom1-n10k:zoom only (centre patch)"
  # the noise before the resize: its own runs, on the images they have so far (a shard at a time)
  [ -f "$(logfile "$c-mean9-inputnoise-n10k")" ] &&
    TITLE="CIFAR-10, sigma = $sigma, Cohen recipe: noise before or after the resize (n = 10,000)" COMMON=1 \
      table "$c-inputnoise" "$radii" "$c-rs-n10k:RS" "$c-mean9-n10k:Mean 9, noise after the resize" \
      "$c-mean9-inputnoise-n10k:Mean 9, noise before the resize" \
      "$c-max9-inputnoise-n10k:Max 9, noise before the resize"
  # the paper's claims, paired, with intervals (scripts/paired-table.ts)
  paper=$(awk "BEGIN { print ($s == 25) ? \"1.2x\" : ($s == 50) ? \"1.6x\" : \"2.3x\" }")
  L() { logfile "$c-$1"; }
  pairs "$c-paper" --radius "$sigma" \
    --pair "Smooth-Mean 9 / RS|$(L mean9-n10k)|$(L rs-n10k)|$paper over a SmoothAdv ResNet-110 (spec section 2; not our base models, untested here); MACER + Mean: 1.6x / 2.3x / 3.9x at sigma .25 / .5 / 1" \
    --pair "Smooth-Max 9 / RS|$(L max9-n10k)|$(L rs-n10k)|gains less than Smooth-Mean" \
    --pair "Smooth-Mean 9 / Smooth-Max 9|$(L mean9-n10k)|$(L max9-n10k)|Mean > Max" \
    --pair "Smooth-Mean 9, noise before the resize / RS|$(L mean9-inputnoise-n10k)|$(L rs-n10k)|(control, ours)" \
    --pair "Smooth-Max 9, noise before the resize / RS|$(L max9-inputnoise-n10k)|$(L rs-n10k)|(control, ours)" \
    --pair "Smooth-Mean 9 / zoom only|$(L mean9-n10k)|$(L zoom1-n10k)|(control, ours: the patches beyond the zoom)" \
    --pair "zoom only / RS|$(L zoom1-n10k)|$(L rs-n10k)|(control, ours: the zoom without the patches)" \
    --pair "Smooth-Mean 9, softmax / logits|$(L mean9-softmax-n10k)|$(L mean9-n10k)|(the research code has both)"
  # the translation control (results.sh 15.): aggregation without the zoom and without a division
  pairs "$c-translations-paper" --radius "$sigma" --note-title "what it asks" \
    --pair "9 translations / RS|$(L pad9-n10k)|$(L rs-n10k)|does the aggregation raise certificates with no zoom and norm 1?" \
    --pair "25 translations / RS|$(L pad25-n10k)|$(L rs-n10k)|the paper's default count (stride 1)" \
    --pair "9 translations / zoom Mean 9|$(L pad9-n10k)|$(L mean9-n10k)|how much of the zoom's loss is the zoom?" \
    --pair "Max 25 translations / RS|$(L padmax25-n10k)|$(L rs-n10k)|Smooth-Max" \
    --pair "centre translation / RS|$(L pad1-n10k)|$(L rs-n10k)|sanity: the input itself, noise drawn on the canvas"
done
# n = 100,000 on 20 of the images (results.sh 14.), beside the n = 10,000 runs on the same 20
c=cifar10-cohen-s025
[ -f "$(logfile "$c-rs-n100k")" ] &&
  TITLE="CIFAR-10, sigma = 0.25, Cohen recipe: n = 100,000 vs 10,000 (the same 20 images)" COMMON=1 \
    table "$c-n100k" 0,0.25,0.5,0.75,0.9 "$c-rs-n100k:RS, n = 100,000" "$c-mean9-n100k:Mean 9, n = 100,000" \
    "$c-max9-n100k:Max 9, n = 100,000" "$c-rs-n10k:RS, n = 10,000" "$c-mean9-n10k:Mean 9, n = 10,000"
pairs "$c-n100k-paper" --radius 0.25 \
  --pair "RS, n = 100,000 / n = 10,000|$(logfile "$c-rs-n100k")|$(logfile "$c-rs-n10k")|(ours: what the n = 10,000 cap costs RS)" \
  --pair "Smooth-Mean 9, n = 100,000 / n = 10,000|$(logfile "$c-mean9-n100k")|$(logfile "$c-mean9-n10k")|(ours: what it costs Smooth-Mean)" \
  --pair "Smooth-Mean 9 / RS, n = 100,000|$(logfile "$c-mean9-n100k")|$(logfile "$c-rs-n100k")|1.2x of SmoothAdv's ACR" \
  --pair "Smooth-Max 9 / RS, n = 100,000|$(logfile "$c-max9-n100k")|$(logfile "$c-rs-n100k")|gains less than Smooth-Mean"
TITLE="CIFAR-10, sigma = 0.25, Cohen recipe: number of patches (100 images, n = 1,000)" \
  table cifar10-cohen-s025-patches 0,0.125,0.25,0.375,0.5 \
  cifar10-cohen-s025-zoom1:"1 patch (zoom only)" cifar10-cohen-s025-mean4:"Mean 4" \
  cifar10-cohen-s025-mean9:"Mean 9" cifar10-cohen-s025-mean25:"Mean 25" cifar10-cohen-s025-max25:"Max 25"
P="$logs/cifar10-cohen-s025"
pairs "cifar10-cohen-s025-patches-paper" --radius 0.25 \
  --pair "Mean 25 / Mean 9|$P-mean25.tsv|$P-mean9.tsv|" \
  --pair "Mean 25 / Mean 4|$P-mean25.tsv|$P-mean4.tsv|" \
  --pair "Mean 25 / 1 patch (zoom only)|$P-mean25.tsv|$P-zoom1.tsv|" \
  --pair "Mean 9 / 1 patch (zoom only)|$P-mean9.tsv|$P-zoom1.tsv|" \
  --pair "Mean 25 / Max 25|$P-mean25.tsv|$P-max25.tsv|Mean > Max"
# section 8, the controls on the zoom-trained models, paired (500 images, n = 1,000)
for d in fmnist cifar10; do
  C="$logs/$d-s025"
  pairs "$d-s025-controls-paired" --radius 0.25 --note-title "what it asks" \
    --pair "zoom only / RS|$C-zoom1.tsv|$C-rs.tsv|does the zoom alone, without patches, change the certificate?" \
    --pair "Smooth-Mean 9 / zoom only|$C-mean9.tsv|$C-zoom1.tsv|what do the 9 patches add to the zoom?" \
    --pair "Smooth-Mean 9, noise before the resize / RS|$C-mean9-inputnoise.tsv|$C-rs.tsv|with no 1/norm division, does Smooth-Mean beat RS in input space?" \
    --pair "Smooth-Mean 9, noise before / after the resize|$C-mean9-inputnoise.tsv|$C-mean9.tsv|how much of the input-space gap is the division?"
done
# the weaker, zoom-trained models (sections 1-8): the same paired table, n = 1,000, 500 images
L="$logs"
pairs zoom-models-paper --radius 0.25 \
  --pair "Fashion-MNIST sigma .12: Mean 9 / RS|$L/fmnist-s012-mean9.tsv|$L/fmnist-s012-rs.tsv|" \
  --pair "Fashion-MNIST sigma .25: Mean 9 / RS|$L/fmnist-s025-mean9.tsv|$L/fmnist-s025-rs.tsv|" \
  --pair "Fashion-MNIST sigma .5: Mean 9 / RS|$L/fmnist-s050-mean9.tsv|$L/fmnist-s050-rs.tsv|" \
  --pair "Fashion-MNIST sigma 1.0: Mean 9 / RS|$L/fmnist-s100-mean9.tsv|$L/fmnist-s100-rs.tsv|" \
  --pair "CIFAR-10 sigma .25: Mean 9 / RS|$L/cifar10-s025-mean9.tsv|$L/cifar10-s025-rs.tsv|1.2x (vs SmoothAdv)" \
  --pair "CIFAR-10 sigma .5: Mean 9 / RS|$L/cifar10-s050-mean9.tsv|$L/cifar10-s050-rs.tsv|1.6x (vs SmoothAdv)" \
  --pair "Fashion-MNIST sigma .25: Max 9 / RS|$L/fmnist-s025-max9.tsv|$L/fmnist-s025-rs.tsv|less than Mean" \
  --pair "CIFAR-10 sigma .25: Max 9 / RS|$L/cifar10-s025-max9.tsv|$L/cifar10-s025-rs.tsv|less than Mean" \
  --pair "Fashion-MNIST sigma .25: Mean 9 noise before resize / RS|$L/fmnist-s025-mean9-inputnoise.tsv|$L/fmnist-s025-rs.tsv|(control)" \
  --pair "CIFAR-10 sigma .25: Mean 9 noise before resize / RS|$L/cifar10-s025-mean9-inputnoise.tsv|$L/cifar10-s025-rs.tsv|(control)"

# denoised smoothing (results.sh 16.): the classifier trained without noise, alone and behind the
# denoisers, beside the Cohen-recipe noise-trained CNN of the same architecture, on the same 50 images
for s in 025 050; do
  sigma=$(awk "BEGIN { print $s / 100 }")
  radii=$(awk "BEGIN { s = $s / 100; print 0 \",\" s / 2 \",\" s \",\" 1.5 * s \",\" 2 * s \",\" 3 * s }")
  D="cifar10-clean"
  TITLE="CIFAR-10, sigma = $sigma: a classifier trained without noise, with denoisers (50 images, n = 10,000)" COMMON=1 \
    table "$D-s$s-denoised" "$radii" "$D-s$s-rs-n10k:clean classifier alone" \
    "$D-mse-s$s-rs-n10k:+ MSE denoiser" "$D-stab-s$s-rs-n10k:+ stability denoiser" \
    "cifar10-cohen-s$s-rs-n10k:noise-trained (Cohen recipe)"
  pairs "$D-s$s-denoised-paired" --radius "$sigma" --note-title "what it asks" \
    --pair "+ MSE denoiser / clean alone|$(logfile "$D-mse-s$s-rs-n10k")|$(logfile "$D-s$s-rs-n10k")|does a denoiser make the clean classifier certifiable?" \
    --pair "+ stability / + MSE denoiser|$(logfile "$D-stab-s$s-rs-n10k")|$(logfile "$D-mse-s$s-rs-n10k")|does Salman et al.'s stability fine-tune help?" \
    --pair "+ stability denoiser / noise-trained|$(logfile "$D-stab-s$s-rs-n10k")|$(logfile "cifar10-cohen-s$s-rs-n10k")|how close to a model trained with noise?"
done
# (once the Smooth-Mean log has a line: --common needs inputs in common)
m9=$(logfile cifar10-clean-stab-s025-mean9-n10k)
[ -f "$m9" ] && [ "$(wc -l < "$m9")" -gt 1 ] &&
TITLE="CIFAR-10, sigma = 0.25: Smooth-Mean on the denoised classifier (20 images, n = 10,000)" COMMON=1 \
  table cifar10-clean-s025-denoised-mean9 0,0.125,0.25,0.375,0.5,0.75 \
  cifar10-clean-stab-s025-rs-n10k-20img:"RS, + stability denoiser" cifar10-clean-stab-s025-mean9-n10k:"Smooth-Mean 9, + stability denoiser"
pairs cifar10-clean-s025-denoised-mean9-paired --radius 0.25 --note-title "what it asks" \
  --pair "Smooth-Mean 9 / RS, + stability denoiser|$(logfile cifar10-clean-stab-s025-mean9-n10k)|$(logfile cifar10-clean-stab-s025-rs-n10k-20img)|does Smooth-Reduce add to denoised smoothing?"

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
# every number with an interval in the hand-written summary must be in a generated table, and
# every log drawn with the current sampler
node --import tsx scripts/check-summary.ts || echo "results-report: check-summary failed: a summary number is in no table, or a log predates the current sampler (above)"
