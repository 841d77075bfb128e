/**
 * `smooth-reduce certify` / `predict` on a folder of real video files (MP4/H.264, WebM/VP9,
 * AVI/MJPEG and one broken file) with the shipped video model: every method and noise mode, the
 * broken clip skipped on one line and recorded, resume and shards as for images, and the one-line
 * refusals of bad video input before any sampling. Skips with one line when no ffmpeg is available.
 */
import assert from 'node:assert/strict';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { REPO, SAMPLE, cliInProcess, withoutTime } from './helpers/cli.js';
import { CLIPS, VIDEO_MODEL as MODEL, clipFolder, videoMissing as skip } from './helpers/video.js';

if (skip) console.log(`# skipping video CLI tests: ${skip}`);

const dir = mkdtempSync(join(tmpdir(), 'smooth-reduce-cli-video-'));
const data = join(dir, 'clips');
const fast = ['--n0', '20', '--n', '100', '--batch', '100', '--quiet'];

before(() => {
  // two clips of each class, in the three containers; plus one broken file
  const picks = [
    'down/v_down_00000.mp4',
    'down/v_down_00004.webm',
    'left/v_left_00005.avi',
    'left/v_left_00009.mp4',
  ];
  const more = [
    'right/v_right_00002.avi',
    'right/v_right_00006.mp4',
    'up/v_up_00003.mp4',
    'up/v_up_00007.webm',
  ];
  clipFolder(data, [...picks, ...more], 'left/v_left_broken.mp4');
});
after(() => rmSync(dir, { recursive: true, force: true }));

const run = (out: string, ...args: string[]) =>
  cliInProcess(['certify', '--model', MODEL, '--data', data, '--out', join(dir, out), ...fast, ...args]);

const lines = (file: string) => readFileSync(join(dir, file), 'utf8').trim().split('\n').slice(1);

test(
  'certify on real video files: rs, max and mean, both noise modes; the broken file is skipped and recorded',
  { skip },
  async () => {
    const configs: [string, string[]][] = [
      ['rs.tsv', ['--method', 'rs']],
      ['max-corr.tsv', ['--method', 'max', '--window-stride', '4']],
      ['mean-uncorr.tsv', ['--method', 'mean', '--window-stride', '4', '--noise', 'uncorrelated']],
    ];
    for (const [out, args] of configs) {
      const r = await run(out, '--sigma', '0.5', ...args);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^smooth-reduce: skipped input 4: .*v_left_broken\.mp4: cannot decode \(/m);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      const rows = lines(out).map((l) => l.split('\t'));
      assert.equal(rows.length, 8);
      assert.ok(!rows.some((r) => r[0] === '4'));
      const correct = rows.filter((r) => r[4] === '1').length;
      assert.ok(correct >= 6, `${out}: only ${correct} of 8 clips certified correctly`);
      const manifest = JSON.parse(readFileSync(join(dir, `${out}.manifest.json`), 'utf8'));
      assert.equal(manifest.skipped.length, 1);
      assert.equal(manifest.skipped[0].idx, 4);
      assert.equal(manifest.lines, 8);
      if (out === 'mean-uncorr.tsv') {
        assert.ok(Math.abs(manifest.noiseScale - Math.SQRT2) < 1e-9, `norm ${manifest.noiseScale}`);
        assert.match(manifest.smoothingSpace, /stacked windows \(7 x 1x8x32x32/);
        assert.match(manifest.label, /Smooth-Mean \(7 windows, uncorrelated, logits\)/);
      } else if (out === 'max-corr.tsv') {
        assert.equal(manifest.noiseScale, 1);
        assert.match(manifest.smoothingSpace, /input clip/);
      } else assert.match(manifest.smoothingSpace, /window \(frames 12-19 of 32\)/);
    }
  },
);

test('video runs resume, and shards merge into the single run', { skip }, async () => {
  const base = ['--method', 'mean', '--max-windows', '3', '--window-stride', '4', '--max', '6'];
  assert.equal((await run('single.tsv', ...base)).code, 0);
  const again = await run('single.tsv', ...base);
  assert.equal(again.code, 0);
  assert.equal(lines('single.tsv').length, 5);
  for (const shard of ['0/2', '1/2'])
    assert.equal((await run(`part${shard[0]}.tsv`, ...base, '--shard', shard)).code, 0);
  const merged = await cliInProcess([
    'merge',
    join(dir, 'part0.tsv'),
    join(dir, 'part1.tsv'),
    '--out',
    join(dir, 'merged.tsv'),
  ]);
  assert.equal(merged.code, 0, merged.stderr);
  assert.equal(withoutTime(join(dir, 'merged.tsv')), withoutTime(join(dir, 'single.tsv')));
  const refused = await run('single.tsv', '--method', 'mean', '--window-stride', '2');
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /belongs to another run/);
});

test(
  'companion runs (--also) on video: a subset of the windows, another reduction, each log as alone',
  { skip },
  async () => {
    const base = ['--window-stride', '4', '--max', '6'];
    const companions: [string, string, string[]][] = [
      ['also-max.tsv', 'method=max', ['--method', 'max']],
      ['also-w8.tsv', 'window-stride=8', ['--method', 'mean', '--window-stride', '8']],
      ['also-max3.tsv', 'method=max,max-windows=3', ['--method', 'max', '--max-windows', '3']],
    ];
    const also = companions.flatMap(([out, spec]) => ['--also', `out=${join(dir, out)},${spec}`]);
    const r = await run('also-mean.tsv', '--method', 'mean', ...base, ...also);
    assert.equal(r.code, 0, r.stderr);
    for (const [out, , alone] of companions) {
      const single = await run(`alone-${out}`, ...base, ...alone);
      assert.equal(single.code, 0, single.stderr);
      assert.equal(withoutTime(join(dir, out)), withoutTime(join(dir, `alone-${out}`)), out);
      const manifest = JSON.parse(readFileSync(join(dir, `${out}.manifest.json`), 'utf8'));
      assert.equal(manifest.skipped[0].idx, 4, `${out}: the broken clip is recorded in the companion too`);
    }
    const refusals: [string[], RegExp][] = [
      [['--noise', 'uncorrelated', '--also', `out=${join(dir, 'x.tsv')},method=max`], /--noise correlated/],
      [
        ['--also', `out=${join(dir, 'x.tsv')},window-stride=6`],
        /reads the window at frame 6, which the run's own windows/,
      ],
      [['--also', `out=${join(dir, 'x.tsv')},stride=4`], /sets stride, which applies to images only/],
    ];
    for (const [args, re] of refusals) {
      const bad = await run('also-bad.tsv', '--method', 'mean', ...base, ...args);
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, re);
      assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    }
  },
);

test('bad video input is refused with one line before any sampling', { skip }, async () => {
  const noVideos = join(dir, 'no-videos');
  mkdirSync(join(noVideos, 'a'), { recursive: true });
  writeFileSync(join(noVideos, 'a', 'x.txt'), '');
  const threeClasses = join(dir, 'three');
  for (const c of ['a', 'b', 'c']) {
    mkdirSync(join(threeClasses, c), { recursive: true });
    copyFileSync(join(CLIPS, 'down/v_down_00000.mp4'), join(threeClasses, c, 'x.mp4'));
  }
  const cases: [string[], RegExp][] = [
    [['--frames', '4'], /a window of 8 frames is longer than the clip \(--frames 4\)/],
    [['--method', 'max', '--window-stride', '0'], /--window-stride must be a positive integer, got 0/],
    [['--size', '28'], /frames are 28x28 but the model takes 32x32; pass --size 32/],
    [['--window', '4'], /--window 4, but the model takes windows of 8 frames/],
    [['--data', noVideos], /no videos/],
    [['--data', threeClasses], /has 3 classes but the model has 4/],
    [
      ['--model', join(REPO, 'models', 'fmnist-cnn-s025'), '--data', SAMPLE, '--frames', '8'],
      /--frames is for video models.*5-D/,
    ],
    [['--data', join(SAMPLE, 't10k-images-idx3-ubyte.gz')], /video model reads a folder of class folders/],
  ];
  for (const [args, re] of cases) {
    const out = join(dir, 'bad.tsv');
    const r = await cliInProcess([
      'certify',
      '--model',
      MODEL,
      '--data',
      data,
      '--out',
      out,
      ...fast,
      ...args,
    ]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(!existsSync(out), `${args.join(' ')} wrote a log`);
  }
  const saved = process.env.SMOOTH_REDUCE_FFMPEG;
  process.env.SMOOTH_REDUCE_FFMPEG = join(dir, 'no-ffmpeg');
  try {
    const r = await run('noffmpeg.tsv');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^smooth-reduce: SMOOTH_REDUCE_FFMPEG=.* is not a working ffmpeg\n$/);
  } finally {
    if (saved === undefined) delete process.env.SMOOTH_REDUCE_FFMPEG;
    else process.env.SMOOTH_REDUCE_FFMPEG = saved;
  }
});
