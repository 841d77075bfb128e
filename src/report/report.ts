/**
 * `smooth-reduce report <log...> --out report.html`: one self-contained HTML file (no external
 * request: styles inline, curves as inline SVG) for a reader who is not a specialist: what was
 * certified, what the guarantee means and under which assumptions, the results with intervals, the
 * curves, per-class results, the verify checks and the attestation's signer, and the fields of a
 * technical file's robustness section. Numbers are `analyze`'s (same functions, same defaults);
 * each carries its full value in a `data-value` attribute.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { UsageError } from '../core/errors.js';
import { summarize, type Outcome, type RunSummary } from '../analysis/metrics.js';
import { DEFAULT_RESAMPLES, DEFAULT_SEED, type Interval } from '../analysis/statistics.js';
import { type LoadedRun, loadRuns, radiusTitle } from '../analysis/runs.js';
import { manifestPath } from '../io/manifest.js';
import { packageVersion } from '../package-root.js';
import { sha256Hex } from '../verify/attest.js';
import { type Check, verifyRun } from '../verify/verify.js';

export const REPORT_RADII = [0, 0.25, 0.5, 0.75, 1];
const CONFIDENCE = 0.95;

export interface ReportRequest {
  logs: string[];
  out: string;
  /** public key to check each log's attestation with */
  key?: string;
}

const esc = (s: unknown) =>
  String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

/** A number shown with 3 decimals, its full value in data-value, named for tests and tools. */
const cell = (metric: string, run: number, v: number | null, digits = 3) =>
  `<td data-run="${run}" data-metric="${esc(metric)}" data-value="${v ?? ''}">${v === null ? '–' : v.toFixed(digits)}</td>`;

const interval = (i: Interval | null | undefined) =>
  i ? ` <span class="ci">[${i.low.toFixed(3)}, ${i.high.toFixed(3)}]</span>` : '';

function perClass(outcomes: readonly Outcome[]): string {
  const labels = [...new Set(outcomes.map((o) => o.label))].sort((a, b) => a - b);
  const rows = labels.map((label) => {
    const of = outcomes.filter((o) => o.label === label);
    const s = summarize(of, REPORT_RADII);
    return `<tr><td>${label}</td><td>${of.length}</td>${s.certifiedAccuracy.map((a) => `<td>${a.accuracy === null ? '–' : a.accuracy.toFixed(3)}</td>`).join('')}<td>${(s.abstentionRate ?? 0).toFixed(3)}</td></tr>`;
  });
  return `<table><thead><tr><th>class (label)</th><th>inputs</th>${REPORT_RADII.map((r) => `<th>r = ${r}</th>`).join('')}<th>abstained</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function runSection(run: LoadedRun, i: number, summary: RunSummary, checks: Check[]): string {
  const m = run.log.manifest ?? {};
  const o = (m.options ?? {}) as Record<string, unknown>;
  const fileHash = (p: string) => sha256Hex(readFileSync(p));
  let manifestHash = '–';
  try {
    manifestHash = fileHash(manifestPath(run.log.path));
  } catch {
    // no manifest: said below
  }
  const what = [
    [
      'model',
      m.model ? `${m.model.name} (${m.model.path}), sha256 ${m.model.sha256}` : 'not recorded (no manifest)',
    ],
    [
      'data',
      m.data
        ? `${m.data.spec}: ${m.data.description}; selection: skip ${m.selection?.skip ?? 1}, max ${m.selection?.max ?? -1} (-1: all)`
        : '–',
    ],
    ['method', m.label ?? '–'],
    ['sigma (noise level)', o.sigma ?? '–'],
    ['samples n0 (selection) / n (estimation)', `${o.n0 ?? '–'} / ${o.n ?? '–'}`],
    ['alpha (failure probability per input)', o.alpha ?? '–'],
    ['radius space', m.radiusSpace === 'input' ? 'input space (pixels in the data’s scale)' : '–'],
    ['smoothing space / norm bound', `${m.smoothingSpace ?? '–'} / ${m.noiseScale ?? 'per input'}`],
    ['log sha256 / manifest sha256', `${fileHash(run.log.path)} / ${manifestHash}`],
  ];
  const acc = summary.certifiedAccuracy;
  return `<section class="run" data-run="${i}">
<h2>${esc(run.label)}</h2>
<h3>What was certified</h3>
<table class="kv">${what.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>
<h3>Results</h3>
<table><thead><tr><th>inputs</th>${acc.map((a) => `<th>certified accuracy at r = ${a.radius}</th>`).join('')}<th>ACR</th><th>abstained</th></tr></thead>
<tbody><tr><td data-run="${i}" data-metric="count" data-value="${summary.count}">${summary.count}</td>${acc
    .map((a) =>
      cell(`certifiedAccuracy@${a.radius}`, i, a.accuracy).replace('</td>', `${interval(a.interval)}</td>`),
    )
    .join(
      '',
    )}${cell('acr', i, summary.acr).replace('</td>', `${interval(summary.acrInterval)}</td>`)}${cell('abstentionRate', i, summary.abstentionRate)}</tr></tbody></table>
<p class="note">Intervals: 95 % two-sided Clopper-Pearson over the inputs (certified accuracy), percentile bootstrap (ACR): how much the numbers could move on another sample of inputs of the same kind.</p>
<h3>Per class</h3>${perClass(run.outcomes)}
<h3>Checks (smooth-reduce verify)</h3>
<ul class="checks">${checks.map((c) => `<li class="${c.ok ? 'pass' : 'fail'}" data-check="${c.name}"><b>${c.ok ? 'PASS' : 'FAIL'} ${esc(c.name)}</b>: ${esc(c.summary)}</li>`).join('')}</ul>
</section>`;
}

const GUARANTEE = `<p>For each input marked correct with radius <i>r</i> &gt; 0, the <b>smoothed</b> classifier (the model's
majority vote over Gaussian noise of level sigma) gives the same, correct class for <b>every</b> image
within L2 distance <i>r</i> of it, measured in the data's pixel scale (e.g. [0, 1] per channel value).
The statement is about that smoothed classifier, not the bare model, and holds with probability at
least 1 - alpha per input over the run's random noise: a run of many inputs may hold a wrong
certificate for about alpha of them. "Certified accuracy at r" is the fraction of inputs certified
correct at radius r or more; ACR the average certified radius (0 for wrong or abstained inputs).</p>
<p>Assumptions: the random generator's bits behave as independent uniform bits; the runtime computes the
same model output on every call; the data are what the manifest names. Floating point is accounted
for (rounded bounds, the noise grid's deviation charged). It says nothing about other threat models
(patches, rotations, L-infinity beyond what L2 implies), or about inputs unlike the test set.</p>`;

function technicalFile(runs: LoadedRun[], checks: Check[][]): string {
  const rows = runs.map((r, i) => {
    const m = r.log.manifest ?? {};
    const sig = checks[i].find((c) => c.name === 'signature');
    return [
      [
        'Robustness metric',
        `certified accuracy at L2 radius r (${REPORT_RADII.join(', ')}), ACR, abstention rate`,
      ],
      ['Threat model', 'L2-bounded input perturbations, input space, data pixel scale'],
      ['Method', `randomized smoothing (Cohen et al. 2019)${m.label ? `: ${m.label}` : ''}`],
      ['Statistical confidence', `1 - alpha = ${1 - Number(m.options?.alpha ?? NaN)} per input`],
      ['Model identity', m.model ? `${m.model.name}, sha256 ${m.model.sha256}` : '–'],
      ['Test data', m.data?.description ?? '–'],
      ['Verification', checks[i].every((c) => c.ok) ? 'all checks hold' : 'a check FAILED'],
      ['Attestation', sig ? (sig.ok ? sig.summary : `FAILED: ${sig.summary}`) : 'not checked (no --key)'],
    ]
      .map(([k, v]) => `<tr><td>${esc(r.label)}</td><th>${esc(k)}</th><td>${esc(v)}</td></tr>`)
      .join('');
  });
  return `<table class="kv"><thead><tr><th>run</th><th>field</th><th>value</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
.kv th{background:#f4f4f4;font-weight:600}.ci{color:#666;font-size:.85em}.note{color:#555;font-size:.9em}
.pass b{color:#176d2a}.fail b{color:#b00020}section.run{border-top:2px solid #ddd;margin-top:2em}svg{max-width:100%;height:auto}`;

/** Writes the report; returns the verify checks of each log. */
export async function writeReport(req: ReportRequest): Promise<{ out: string; ok: boolean }> {
  const loaded = loadRuns(req.logs, 'input');
  const bootstrap = { resamples: DEFAULT_RESAMPLES, seed: DEFAULT_SEED };
  const summaries = loaded.runs.map((r) => summarize(r.outcomes, REPORT_RADII, CONFIDENCE, bootstrap));
  const checks: Check[][] = [];
  for (const r of loaded.runs) {
    try {
      checks.push(await verifyRun({ log: r.log.path, key: req.key }));
    } catch (e) {
      // a log without a manifest (Cohen et al.'s) cannot be checked: said, not hidden
      if (!(e instanceof UsageError)) throw e;
      checks.push([{ name: 'lines', ok: false, summary: e.message }]);
    }
  }
  const certify = loaded.runs.filter((r) => r.log.kind === 'certify');
  let svg = '';
  if (certify.length > 0) {
    const { certifiedAccuracySpec, renderSvg } = await import('../analysis/plot/figure.js');
    svg = await renderSvg(
      certifiedAccuracySpec(
        certify.map((r) => ({ label: r.label, outcomes: r.outcomes })),
        { xTitle: radiusTitle(loaded.spaceDescription), bands: CONFIDENCE },
      ),
    );
  }
  const ok = checks.every((c) => c.every((x) => x.ok));
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>Robustness certificate report</title><style>${STYLE}</style></head>
<body data-verified="${ok}">
<h1>Robustness certificate report</h1>
<p class="note">smooth-reduce ${esc(packageVersion)}, ${esc(new Date().toISOString())}; ${loaded.runs.length} run(s): ${loaded.runs.map((r) => esc(r.log.path)).join(', ')}.
Verification: <b>${ok ? 'every check holds' : 'a check FAILED (see below)'}</b>.</p>
<h2>What the guarantee means</h2>${GUARANTEE}
${svg ? `<h2>Certified accuracy against radius</h2><figure>${svg}<figcaption class="note">Each curve: the fraction of inputs certified correct at each L2 radius (${esc(loaded.spaceDescription)}), with its 95 % band.</figcaption></figure>` : ''}
${loaded.runs.map((r, i) => runSection(r, i, summaries[i], checks[i])).join('\n')}
<h2>Technical file: robustness entries</h2>${technicalFile(loaded.runs, checks)}
</body></html>
`;
  writeFileSync(req.out, html);
  return { out: req.out, ok };
}
