/**
 * 8-bit interleaved RGB(A) pixels to the project's channel-planar [0, 1] layout, as PIL reads images.
 * Portable (no Node imports): the image readers and the web page share it, so an image the page
 * draws becomes exactly the pixels the CLI reads from the same PNG.
 */
import type { Shape3 } from '../core/shape.js';

/** PIL's RGB -> L: (19595 R + 38470 G + 7471 B + 0x8000) >> 16 (ITU-R 601-2 luma). */
export function luma(r: number, g: number, b: number): number {
  return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
}

/**
 * The `shape` window at (top, left) of an interleaved 8-bit image `width` pixels wide with
 * `bytesPerPixel` bytes per pixel (3: RGB, 4: RGBA, alpha ignored), as channel-planar [0, 1]
 * pixels: 3 channels, or 1 (PIL's luma).
 */
export function rgbToPlanar(
  data: ArrayLike<number>,
  width: number,
  shape: Shape3,
  top = 0,
  left = 0,
  bytesPerPixel = 3,
): Float32Array {
  const { channels, height: h, width: w } = shape;
  const plane = h * w;
  const pixels = new Float32Array(channels * plane);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const s = ((y + top) * width + x + left) * bytesPerPixel;
      const d = y * w + x;
      if (channels === 1) pixels[d] = luma(data[s], data[s + 1], data[s + 2]) / 255;
      else for (let c = 0; c < 3; c++) pixels[c * plane + d] = data[s + c] / 255;
    }
  }
  return pixels;
}
