import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { UsageError } from '../src/core/errors.js';
import { CIFAR10_CLASSES, CifarDataset } from '../src/data/cifar.js';
import { cifarRecord, writeRecords } from './fixtures/data/make.js';

const tmp = mkdtempSync(join(tmpdir(), 'sr-cifar-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Record r: label (r * 3) % 10, pixel byte i = (7 i + 31 r) mod 256. */
const byte = (r: number, i: number) => (7 * i + 31 * r) % 256;
const records = [0, 1, 2].map((r) => cifarRecord([(r * 3) % 10], (i) => byte(r, i)));
const usage = (pattern: RegExp) => (e: unknown) => e instanceof UsageError && pattern.test(e.message);

describe('CIFAR-10 binary', () => {
  const dir = join(tmp, 'cifar-10-batches-bin');
  const file = writeRecords(join(dir, 'test_batch.bin'), records);
  const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];
  writeFileSync(join(dir, 'batches.meta.txt'), names.join('\n') + '\n\n');

  it('reads records: labels, planar R, G, B, pixels / 255 exactly', async () => {
    const data = new CifarDataset(file);
    assert.equal(data.size, 3);
    assert.deepEqual(data.shape, { channels: 3, height: 32, width: 32 });
    assert.equal(data.variant, 'cifar10');
    assert.deepEqual(data.classes, names);
    assert.match(data.description, /CIFAR-10 test_batch\.bin \(3 x 3x32x32\)/);
    for (let r = 0; r < 3; r++) {
      const input = await data.get(r);
      assert.equal(input.index, r);
      assert.equal(input.label, (r * 3) % 10);
      assert.equal(input.pixels.length, 3072);
      for (let i = 0; i < 3072; i++) assert.equal(input.pixels[i], Math.fround(byte(r, i) / 255));
    }
  });

  it('keeps the file layout: plane c, row y, column x at c*1024 + y*32 + x', async () => {
    // red = x, green = y, blue = 255 - x: the layout is visible in the values
    const pixel = (i: number) => {
      const [c, y, x] = [Math.floor(i / 1024), Math.floor(i / 32) % 32, i % 32];
      return c === 0 ? x : c === 1 ? y : 255 - x;
    };
    const path = writeRecords(join(tmp, 'layout', 'data_batch_1.bin'), [cifarRecord([9], pixel)]);
    const { label, pixels } = await new CifarDataset(path).get(0);
    assert.equal(label, 9);
    assert.equal(pixels[0 * 1024 + 5 * 32 + 7], Math.fround(7 / 255));
    assert.equal(pixels[1 * 1024 + 5 * 32 + 7], Math.fround(5 / 255));
    assert.equal(pixels[2 * 1024 + 5 * 32 + 7], Math.fround(248 / 255));
    assert.equal(pixels[2 * 1024], 1);
  });

  it('reads the folder: its test_batch.bin and class names', async () => {
    const data = new CifarDataset(dir);
    assert.equal(data.path, file);
    assert.equal(data.size, 3);
    assert.deepEqual(data.classes, names);
  });

  it('falls back to the standard class names without batches.meta.txt', () => {
    const path = writeRecords(join(tmp, 'bare', 'test_batch.bin'), records);
    assert.deepEqual(new CifarDataset(path).classes, CIFAR10_CLASSES);
  });

  it('tells CIFAR-10 by size when the name says nothing', () => {
    const data = new CifarDataset(writeRecords(join(tmp, 'odd', 'mine.bin'), records));
    assert.equal(data.variant, 'cifar10');
    assert.equal(data.size, 3);
  });

  it('refuses a truncated file, naming it', () => {
    const path = join(tmp, 'truncated', 'test_batch.bin');
    writeRecords(path, records);
    writeFileSync(path, Buffer.concat(records).subarray(0, 3 * 3073 - 5));
    assert.throws(
      () => new CifarDataset(path),
      usage(
        /truncated\/test_batch\.bin: truncated CIFAR-10 file: 9214 bytes is 2 records of 3073 bytes plus 3068/,
      ),
    );
    const odd = join(tmp, 'truncated', 'other.bin');
    writeFileSync(odd, Buffer.alloc(3073 * 2 + 1));
    assert.throws(() => new CifarDataset(odd), usage(/other\.bin: 6147 bytes is not a whole number/));
  });

  it('refuses an empty file, a label out of range, a missing file or folder', () => {
    const empty = writeRecords(join(tmp, 'empty', 'test_batch.bin'), []);
    assert.throws(() => new CifarDataset(empty), usage(/test_batch\.bin: empty file/));
    const bad = writeRecords(join(tmp, 'bad', 'test_batch.bin'), [records[0], cifarRecord([42], () => 0)]);
    assert.throws(() => new CifarDataset(bad), usage(/record 1 has label 42 .*not a CIFAR-10 binary file/));
    assert.throws(() => new CifarDataset(join(tmp, 'nope.bin')), usage(/no such file: .*nope\.bin/));
    const folder = join(tmp, 'no-batches');
    mkdirSync(folder);
    assert.throws(() => new CifarDataset(folder), usage(/no-batches: no test_batch\.bin .* in this folder/));
  });

  it('refuses an index outside the file', async () => {
    const data = new CifarDataset(file);
    await assert.rejects(data.get(3), usage(/no image 3 \(the file holds 3\)/));
    await assert.rejects(data.get(-1), UsageError);
  });
});

describe('CIFAR-100 binary', () => {
  const dir = join(tmp, 'cifar-100-binary');
  const recs = [0, 1].map((r) => cifarRecord([19 - r, 99 - r], (i) => byte(r, i)));
  const file = writeRecords(join(dir, 'test.bin'), recs);
  const fine = Array.from({ length: 100 }, (_, i) => `fine${i}`);
  writeFileSync(join(dir, 'fine_label_names.txt'), fine.join('\n'));

  it('reads fine labels by default, coarse on request, pixels after the 2 label bytes', async () => {
    const data = new CifarDataset(dir);
    assert.equal(data.variant, 'cifar100');
    assert.equal(data.size, 2);
    assert.deepEqual(data.classes, fine);
    const input = await data.get(1);
    assert.equal(input.label, 98);
    for (let i = 0; i < 3072; i++) assert.equal(input.pixels[i], Math.fround(byte(1, i) / 255));
    const coarse = new CifarDataset(file, { labels: 'coarse' });
    assert.equal((await coarse.get(0)).label, 19);
    assert.equal(coarse.classes, undefined); // no coarse_label_names.txt
  });

  it('refuses coarse labels for CIFAR-10 and a truncated CIFAR-100 file', () => {
    const c10 = writeRecords(join(tmp, 'c10', 'test_batch.bin'), records);
    assert.throws(() => new CifarDataset(c10, { labels: 'coarse' }), usage(/only in CIFAR-100/));
    const cut = join(tmp, 'c100cut', 'test.bin');
    writeRecords(cut, recs);
    writeFileSync(cut, Buffer.concat(recs).subarray(0, 3074 + 100));
    assert.throws(() => new CifarDataset(cut), usage(/truncated CIFAR-100 file/));
  });
});
