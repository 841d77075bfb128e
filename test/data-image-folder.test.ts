import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UsageError } from '../src/core/errors.js';
import {
  ImageFolderDataset,
  centerCropOffset,
  imageFolderRoot,
  imageSize,
  luma,
  resizedSize,
} from '../src/data/image-folder.js';
import { writeJpeg, writePng } from './fixtures/data/make.js';

const tmp = mkdtempSync(join(tmpdir(), 'sr-images-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const usage = (pattern: RegExp) => (e: unknown) => e instanceof UsageError && pattern.test(e.message);

/** Image k's byte at (x, y, c): distinct across images, pixels and channels. */
const value = (k: number) => (x: number, y: number, c: number) => (k * 50 + x * 11 + y * 29 + c * 83) % 256;

describe('image folder: order, labels, exact pixels', () => {
  const root = join(tmp, 'plain');
  // classes given out of order; file names sort as strings ("10" < "2")
  const layout: [string, string, number][] = [
    ['zebra', '2.png', 0],
    ['zebra', '10.png', 1],
    ['ant', 'b.png', 2],
    ['ant', 'a.png', 3],
    ['ant', 'sub/c.png', 4], // nested folders are read after the class folder's own files
    ['moth', 'x.PNG', 5],
  ];
  before(async () => {
    for (const [cls, name, k] of layout) await writePng(join(root, cls, name), 6, 4, value(k));
    mkdirSync(join(root, '.ipynb_checkpoints'));
    writeFileSync(join(root, 'ant', 'notes.txt'), 'not an image');
  });

  it('classes are the sorted folder names, files sorted within a class, class-major', () => {
    const data = new ImageFolderDataset(root);
    assert.equal(data.root, root);
    assert.deepEqual(data.classes, ['ant', 'moth', 'zebra']);
    assert.equal(data.size, 6);
    assert.deepEqual(data.shape, { channels: 3, height: 4, width: 6 });
    const order = ['ant/a.png', 'ant/b.png', 'ant/sub/c.png', 'moth/x.PNG', 'zebra/10.png', 'zebra/2.png'];
    assert.deepEqual(
      Array.from({ length: data.size }, (_, i) => data.file(i)),
      order.map((f) => join(root, f)),
    );
    assert.match(data.description, /image folder .*plain \(6 images, 3 classes, 3x4x6\)/);
  });

  it('decodes PNG to planar RGB / 255 exactly, with the label of its folder', async () => {
    const data = new ImageFolderDataset(root);
    const labels = [0, 0, 0, 1, 2, 2];
    const source = [3, 2, 4, 5, 1, 0]; // which written image sits at each index
    for (let i = 0; i < data.size; i++) {
      const input = await data.get(i);
      assert.equal(input.index, i);
      assert.equal(input.label, labels[i]);
      assert.equal(input.pixels.length, 3 * 4 * 6);
      for (let c = 0; c < 3; c++) {
        for (let y = 0; y < 4; y++) {
          for (let x = 0; x < 6; x++) {
            assert.equal(input.pixels[c * 24 + y * 6 + x], Math.fround(value(source[i])(x, y, c) / 255));
          }
        }
      }
    }
  });

  it('channels 1: PIL luma of RGB, grayscale PNGs unchanged', async () => {
    const data = new ImageFolderDataset(root, { channels: 1 });
    assert.deepEqual(data.shape, { channels: 1, height: 4, width: 6 });
    const { pixels } = await data.get(0); // image 3
    const v = value(3);
    for (let y = 0; y < 4; y++) {
      for (let x = 0; x < 6; x++) {
        assert.equal(pixels[y * 6 + x], Math.fround(luma(v(x, y, 0), v(x, y, 1), v(x, y, 2)) / 255));
      }
    }
    const grayRoot = join(tmp, 'gray');
    await writePng(join(grayRoot, 'one', 'g.png'), 5, 3, (x, y) => x * 50 + y, 1);
    const gray = await new ImageFolderDataset(grayRoot, { channels: 1 }).get(0);
    assert.deepEqual(
      Array.from(gray.pixels),
      Array.from({ length: 15 }, (_, i) => Math.fround(((i % 5) * 50 + Math.floor(i / 5)) / 255)),
    );
    const rgb = await new ImageFolderDataset(grayRoot).get(0); // grayscale repeated to 3 channels
    assert.deepEqual(Array.from(rgb.pixels), [...gray.pixels, ...gray.pixels, ...gray.pixels]);
  });

  it('refuses an index outside the folder', async () => {
    await assert.rejects(new ImageFolderDataset(root).get(6), usage(/no image 6 \(the folder holds 6\)/));
  });
});

describe('image folder: resize and center crop', () => {
  it('follows torchvision: shorter side to S, long side int(S * long / short), crop offsets round half to even', () => {
    assert.deepEqual(resizedSize(500, 375, 256), { width: 341, height: 256 });
    assert.deepEqual(resizedSize(375, 500, 256), { width: 256, height: 341 });
    assert.deepEqual(resizedSize(32, 32, 256), { width: 256, height: 256 });
    assert.equal(centerCropOffset(256, 224), 16);
    assert.equal(centerCropOffset(257, 224), 16); // round(16.5) = 16
    assert.equal(centerCropOffset(259, 224), 18); // round(17.5) = 18
    assert.equal(centerCropOffset(341, 224), 58); // round(58.5) = 58
    assert.equal(centerCropOffset(224, 224), 0);
  });

  it('gives the cropped shape for images of several sizes; a flat colour stays exact', async () => {
    const root = join(tmp, 'sizes');
    await writePng(join(root, 'a', 'wide.png'), 40, 20, (_x, _y, c) => [10, 128, 250][c]);
    await writePng(join(root, 'b', 'tall.png'), 21, 50, (_x, _y, c) => [10, 128, 250][c]);
    await writeJpeg(join(root, 'c', 'photo.jpg'), 64, 48);
    const data = new ImageFolderDataset(root, { resize: 10, centerCrop: 8 });
    assert.deepEqual(data.shape, { channels: 3, height: 8, width: 8 });
    assert.match(data.description, /3x8x8, resize 10, center crop 8\)/);
    for (const i of [0, 1]) {
      const { pixels } = await data.get(i);
      assert.equal(pixels.length, 3 * 64);
      for (let c = 0; c < 3; c++) {
        for (let j = 0; j < 64; j++) assert.equal(pixels[c * 64 + j], Math.fround([10, 128, 250][c] / 255));
      }
    }
    const jpeg = await data.get(2);
    assert.equal(jpeg.label, 2);
    for (const [c, v] of [200, 100, 50].entries())
      assert.ok(Math.abs(jpeg.pixels[c * 64 + 27] - v / 255) < 4 / 255);
    const resized = new ImageFolderDataset(root, { resize: 10 }); // shape from the first image
    assert.deepEqual(resized.shape, { channels: 3, height: 10, width: 20 });
    assert.equal((await resized.get(0)).pixels[3 * 200 - 1], Math.fround(250 / 255));
    await assert.rejects(resized.get(1), usage(/tall\.png: 10x23 image after resize, but the first/));
  });

  it('crops the centre: offsets as torchvision (no resize)', async () => {
    const root = join(tmp, 'crop');
    await writePng(join(root, 'a', 'p.png'), 7, 6, (x, y, c) => x * 10 + y + c * 100);
    const { pixels } = await new ImageFolderDataset(root, { centerCrop: 4 }).get(0);
    // left = round(1.5) = 2, top = round(1) = 1
    const expect = (x: number, y: number, c: number) => Math.fround(((x + 2) * 10 + y + 1 + c * 100) / 255);
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 4; y++)
        for (let x = 0; x < 4; x++) assert.equal(pixels[c * 16 + y * 4 + x], expect(x, y, c));
    }
  });

  it('refuses a crop larger than the resize or the image', async () => {
    const root = join(tmp, 'crop');
    assert.throws(
      () => new ImageFolderDataset(root, { resize: 8, centerCrop: 9 }),
      usage(/center crop 9 is larger/),
    );
    assert.throws(
      () => new ImageFolderDataset(root, { centerCrop: 7 }),
      usage(/p\.png: 7x6 image is smaller than the 7x7/),
    );
    assert.throws(
      () => new ImageFolderDataset(root, { resize: 0 }),
      usage(/resize must be a positive whole number/),
    );
  });
});

describe('image folder: errors', () => {
  it('names the image whose size differs from the first (no resize/crop)', async () => {
    const root = join(tmp, 'mixed');
    await writePng(join(root, 'a', '1.png'), 8, 8, value(1));
    await writePng(join(root, 'b', '2.png'), 9, 8, value(2));
    const data = new ImageFolderDataset(root);
    assert.deepEqual(data.shape, { channels: 3, height: 8, width: 8 });
    await data.get(0);
    await assert.rejects(data.get(1), usage(/b\/2\.png: 9x8 image, but the first \(.*a\/1\.png\) is 8x8/));
  });

  it('refuses a missing or empty folder, an empty class, a non-image, other formats', async () => {
    assert.throws(() => new ImageFolderDataset(join(tmp, 'nope')), usage(/no such folder: .*nope/));
    const empty = join(tmp, 'empty');
    mkdirSync(empty);
    assert.throws(() => new ImageFolderDataset(empty), usage(/empty: no class folders/));
    const noImages = join(tmp, 'no-images');
    mkdirSync(join(noImages, 'a'), { recursive: true });
    writeFileSync(join(noImages, 'a', 'readme.txt'), '');
    assert.throws(
      () => new ImageFolderDataset(noImages),
      usage(/no-images\/a: class folder with no JPEG or PNG/),
    );
    const junk = join(tmp, 'junk');
    mkdirSync(join(junk, 'a'), { recursive: true });
    writeFileSync(join(junk, 'a', 'x.jpg'), 'not a jpeg');
    assert.throws(() => new ImageFolderDataset(junk), usage(/a\/x\.jpg: not a JPEG or PNG image/));
    const bmp = join(tmp, 'bmp');
    mkdirSync(join(bmp, 'a'), { recursive: true });
    writeFileSync(join(bmp, 'a', 'x.bmp'), '');
    assert.throws(() => new ImageFolderDataset(bmp), usage(/x\.bmp: \.bmp images are not read/));
  });

  it('names a file that cannot be decoded', async () => {
    const root = join(tmp, 'broken');
    await writePng(join(root, 'a', '1.png'), 8, 8, value(1));
    const good = await writeJpeg(join(root, 'a', '2.jpg'), 8, 8);
    writeFileSync(good, readFileSync(good).subarray(0, 200)); // truncated JPEG
    const data = new ImageFolderDataset(root);
    await assert.rejects(data.get(1), usage(/a\/2\.jpg: cannot decode image/));
  });
});

describe('image folder: root and headers', () => {
  it('uses test/ (or val/) of class folders when the folder holds one', async () => {
    const root = join(tmp, 'split');
    await writePng(join(root, 'train', 'a', '1.png'), 4, 4, value(1));
    await writePng(join(root, 'test', 'b', '1.png'), 4, 4, value(2));
    await writePng(join(root, 'test', 'c', '1.png'), 4, 4, value(3));
    assert.equal(imageFolderRoot(root), join(root, 'test'));
    const data = new ImageFolderDataset(root);
    assert.deepEqual(data.classes, ['b', 'c']);
    const val = join(tmp, 'imagenet');
    await writePng(join(val, 'val', 'n01', '1.png'), 4, 4, value(1));
    assert.equal(imageFolderRoot(val), join(val, 'val'));
    assert.equal(imageFolderRoot(join(tmp, 'plain')), join(tmp, 'plain'));
  });

  it('reads width and height from PNG and JPEG headers', async () => {
    assert.deepEqual(imageSize(await writePng(join(tmp, 'hdr', 'a.png'), 13, 7, value(0))), {
      width: 13,
      height: 7,
    });
    assert.deepEqual(imageSize(await writeJpeg(join(tmp, 'hdr', 'b.jpg'), 17, 9)), { width: 17, height: 9 });
  });
});
