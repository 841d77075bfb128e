/**
 * "Bring your own model": training/export_onnx.py exports a PyTorch classifier with its
 * normalisation inside the graph and writes its card; ONNX Runtime must give PyTorch's logits on the
 * seeded reference inputs, and the exported folder certifies from the command line. Needs Debian's
 * python3-torch and python3-onnx (CI installs them); skipped with a reason where they are missing.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { validateModelCard } from '../src/models/model-card.js';
import { OnnxClassifier } from '../src/models/onnx-classifier.js';
import { REPO, cli } from './helpers/cli.js';

const PYTHON = '/usr/bin/python3';
// prettier-ignore
const CIFAR10 = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
const torchMissing: string | false = (() => {
  const r = spawnSync(PYTHON, ['-c', 'import torch, onnx'], { encoding: 'utf8' });
  return r.status === 0
    ? false
    : `${PYTHON} with torch and onnx not found (apt-get install python3-torch python3-onnx)`;
})();

const tmp = mkdtempSync(join(tmpdir(), 'sr-export-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test(
  'export_onnx.py: a PyTorch checkpoint becomes a model folder ONNX Runtime agrees with',
  { skip: torchMissing },
  async () => {
    const arch = join(tmp, 'tiny.py');
    writeFileSync(
      arch,
      [
        'import torch, torch.nn as nn',
        'def build(num_classes=10):',
        '    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1),',
        '                         nn.Flatten(), nn.Linear(4, num_classes))',
        'if __name__ == "__main__":',
        '    import sys',
        '    torch.manual_seed(0)',
        '    m = nn.DataParallel(build())',
        '    torch.save({"epoch": 1, "state_dict": m.state_dict()}, sys.argv[1])',
        '',
      ].join('\n'),
    );
    const checkpoint = join(tmp, 'tiny.pt');
    const save = spawnSync(PYTHON, [arch, checkpoint], { encoding: 'utf8' });
    assert.equal(save.status, 0, save.stderr);
    const out = join(tmp, 'tiny-model');
    // prettier-ignore
    const args = [
    join(REPO, 'training', 'export_onnx.py'), '--arch', `${arch}:build`, '--arch-kwargs', '{"num_classes": 10}',
    '--checkpoint', checkpoint, '--input-shape', '3', '32', '32', '--mean', '0.49', '0.48', '0.45',
    '--std', '0.25', '0.24', '0.26', '--classes', ...CIFAR10, '--trained-sigma', '0',
    '--out', out, '--reference', '4',
  ];
    const exported = spawnSync(PYTHON, args, { encoding: 'utf8' });
    assert.equal(exported.status, 0, exported.stderr);
    const card = validateModelCard(JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')));
    assert.deepEqual(card.classes, CIFAR10);
    assert.equal(card.training?.sigma, 0);
    assert.equal(card.input.normalization, null, 'the normalisation is inside the graph, after the noise');
    const ref = JSON.parse(readFileSync(join(out, 'reference.json'), 'utf8')) as {
      inputs: number[];
      logits: number[];
    };
    const f = await OnnxClassifier.load(out, { threads: 1 });
    const logits = await f.run(Float32Array.from(ref.inputs), 4);
    for (let i = 0; i < ref.logits.length; i++)
      assert.ok(
        Math.abs(logits[i] - ref.logits[i]) < 1e-4,
        `logit ${i}: ${logits[i]} vs PyTorch ${ref.logits[i]}`,
      );
    await f.dispose();
    // a class count the names do not match is one line, before anything is written
    const wrong = spawnSync(
      PYTHON,
      [
        ...args.slice(0, args.indexOf('--classes') + 1),
        'a',
        'b',
        '--trained-sigma',
        '0',
        '--out',
        join(tmp, 'bad'),
      ],
      { encoding: 'utf8' },
    );
    assert.notEqual(wrong.status, 0);
    assert.match(
      wrong.stderr.trim(),
      /^export_onnx\.py: the model returns \[2, 10\] for 2 inputs; expected \[2, 2\]/,
    );
    // and it certifies (a standard classifier: the CLI warns that it needs a denoiser)
    const log = join(tmp, 'tiny.tsv');
    const r = await cli([
      'certify',
      '--model',
      out,
      '--data',
      join(REPO, 'data', 'cifar10-sample'),
      '--max',
      '1',
      '--n0',
      '10',
      '--n',
      '20',
      '--threads',
      '1',
      '--out',
      log,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: tiny-model was trained without noise/);
  },
);
