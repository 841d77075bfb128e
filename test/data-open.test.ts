import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { UsageError } from '../src/core/errors.js';
import { CIFAR10_CLASSES, CifarDataset } from '../src/data/cifar.js';
import { IdxDataset } from '../src/data/idx.js';
import { ImageFolderDataset, luma } from '../src/data/image-folder.js';
import { openDataset } from '../src/data/open.js';
import {
  CIFAR_JPEG,
  CIFAR_JPEG_SKIP,
  REPO,
  cifarRecord,
  writePng,
  writeRecords,
} from './fixtures/data/make.js';

const tmp = mkdtempSync(join(tmpdir(), 'sr-open-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const usage = (pattern: RegExp) => (e: unknown) => e instanceof UsageError && pattern.test(e.message);

const FASHION = join(REPO, 'data', 'fashion-mnist-sample');
const byte = (r: number, i: number) => (5 * i + 77 * r) % 256;
const cifarDir = join(tmp, 'cifar', 'cifar-10-batches-bin');
const cifarFile = writeRecords(
  join(cifarDir, 'test_batch.bin'),
  [4, 7].map((label, r) => cifarRecord([label], (i) => byte(r, i))),
);

describe('openDataset: recognising the format', () => {
  it('IDX: the folder or the images file', () => {
    assert.ok(openDataset(FASHION) instanceof IdxDataset);
    assert.ok(openDataset(join(FASHION, 't10k-images-idx3-ubyte.gz')) instanceof IdxDataset);
  });

  it('CIFAR binary: the file, the extracted folder, the folder holding it', () => {
    for (const spec of [cifarFile, cifarDir, join(tmp, 'cifar')]) {
      const data = openDataset(spec);
      assert.ok(data instanceof CifarDataset, spec);
      assert.equal(data.size, 2);
      assert.deepEqual(data.classes, CIFAR10_CLASSES);
    }
  });

  it('an image folder, with resize, center crop and channels passed on', async () => {
    const root = join(tmp, 'images');
    await writePng(join(root, 'b', '1.png'), 12, 10, (x, y, c) => x + y + c);
    await writePng(join(root, 'a', '1.png'), 12, 10, (x, y, c) => x + y + c);
    const data = openDataset(root);
    assert.ok(data instanceof ImageFolderDataset);
    assert.deepEqual(data.classes, ['a', 'b']);
    assert.deepEqual(data.shape, { channels: 3, height: 10, width: 12 });
    const cropped = openDataset(root, { resize: 8, centerCrop: 6, channels: 1 });
    assert.deepEqual(cropped.shape, { channels: 1, height: 6, width: 6 });
    assert.equal((await cropped.get(1)).pixels.length, 36);
  });

  it('channels: grayscale IDX repeated to 3, CIFAR taken to luma', async () => {
    const idx = openDataset(FASHION, { channels: 3 });
    assert.deepEqual(idx.shape, { channels: 3, height: 28, width: 28 });
    const plain = (await openDataset(FASHION).get(5)).pixels;
    const three = await idx.get(5);
    assert.equal(three.index, 5);
    assert.deepEqual(Array.from(three.pixels), [...plain, ...plain, ...plain]);
    const gray = openDataset(cifarFile, { channels: 1 });
    assert.deepEqual(gray.shape, { channels: 1, height: 32, width: 32 });
    assert.equal(gray.classes, CIFAR10_CLASSES);
    const { label, pixels } = await gray.get(1);
    assert.equal(label, 7);
    for (const i of [0, 1, 500, 1023]) {
      assert.equal(pixels[i], Math.fround(luma(byte(1, i), byte(1, 1024 + i), byte(1, 2048 + i)) / 255));
    }
  });
});

describe('openDataset: errors', () => {
  it('a missing path, an empty folder, an unknown file', () => {
    assert.throws(() => openDataset(join(tmp, 'nope')), usage(/no such data set: .*nope/));
    const empty = join(tmp, 'empty');
    mkdirSync(empty);
    assert.throws(() => openDataset(empty), usage(/empty: empty folder \(expected IDX/));
    const other = join(tmp, 'notes.txt');
    writeFileSync(other, 'hello');
    assert.throws(() => openDataset(other), usage(/notes\.txt: no data set format recognised/));
  });

  it('an archive: says how to extract it', () => {
    const archive = join(tmp, 'cifar10-jpeg.tar.gz');
    writeFileSync(archive, '');
    assert.throws(
      () => openDataset(archive),
      usage(
        new RegExp(
          `is an archive, which is not read directly; extract it first: mkdir -p cifar10-jpeg && tar -xzf ${archive} -C cifar10-jpeg \\(then pass --data cifar10-jpeg\\)`,
        ),
      ),
    );
    const zip = join(tmp, 'zipped', 'my data.zip');
    mkdirSync(join(tmp, 'zipped'));
    writeFileSync(zip, '');
    assert.throws(() => openDataset(zip), usage(/unzip -q '.*my data\.zip' -d 'my data'/));
    assert.throws(
      () => openDataset(join(tmp, 'zipped')),
      usage(/zipped: no data set, but an archive: .*unzip/),
    );
  });

  it('image-folder options on a fixed-size format, bad option values', () => {
    assert.throws(
      () => openDataset(cifarFile, { resize: 64 }),
      usage(/resize and center crop apply to image folders only/),
    );
    assert.throws(() => openDataset(FASHION, { centerCrop: 20 }), usage(/image folders only/));
    assert.throws(
      () => openDataset(cifarFile, { resize: 2.5 }),
      usage(/resize must be a positive whole number/),
    );
    assert.throws(() => openDataset(cifarFile, { channels: 2 as 1 }), usage(/channels must be 1 or 3/));
  });

  it('a truncated CIFAR file, through the dispatcher', () => {
    const path = join(tmp, 'cut', 'data_batch_1.bin');
    mkdirSync(join(tmp, 'cut'));
    writeFileSync(path, Buffer.alloc(3073 + 1000));
    assert.throws(() => openDataset(path), usage(/data_batch_1\.bin: truncated CIFAR-10 file/));
  });
});

describe('openDataset: the real CIFAR-10 JPEG tree (../shared)', () => {
  it('reads a few extracted test images as an image folder', { skip: CIFAR_JPEG_SKIP }, async () => {
    const dir = join(tmp, 'cifar10-jpeg');
    mkdirSync(dir);
    // the first two test images of every class (members are test/<class>/NNNN.jpg)
    execFileSync('tar', ['-xzf', CIFAR_JPEG, '-C', dir, '--wildcards', 'test/*/000[01].jpg']);
    assert.deepEqual(readdirSync(join(dir, 'test')).sort(), CIFAR10_CLASSES);
    const data = openDataset(dir); // the folder holding test/
    assert.ok(data instanceof ImageFolderDataset);
    assert.equal(data.root, join(dir, 'test'));
    assert.deepEqual(data.classes, CIFAR10_CLASSES);
    assert.equal(data.size, 20);
    assert.deepEqual(data.shape, { channels: 3, height: 32, width: 32 });
    const cat = await data.get(7); // cat = class 3: indices 6, 7
    assert.equal(data.file(7), join(dir, 'test', 'cat', '0001.jpg'));
    assert.equal(cat.label, 3);
    assert.equal(cat.pixels.length, 3 * 32 * 32);
    assert.ok(cat.pixels.every((v) => v >= 0 && v <= 1));
    assert.ok(new Set(cat.pixels).size > 50, 'a photograph, not a flat image');
    for (let i = 0; i < data.size; i++) assert.equal((await data.get(i)).label, Math.floor(i / 2));
    const imagenet = openDataset(dir, { resize: 256, centerCrop: 224 });
    assert.deepEqual(imagenet.shape, { channels: 3, height: 224, width: 224 });
    assert.equal((await imagenet.get(6)).pixels.length, 3 * 224 * 224);
  });
});
