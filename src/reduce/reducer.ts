/**
 * The Reducer: how one input becomes (a) a point in the smoothing space, where the Gaussian noise is
 * added, and (b) for every noisy sample, the k model inputs whose outputs are reduced to one vote.
 *
 *   input x --M--> center z = M x --(+ sigma e)--> z' --G--> k model inputs --f--> k outputs --reduce--> vote
 *
 * The composite h(z') = argmax reduce_i f(G z')_i is just another base classifier, so Cohen et al.'s
 * theorem certifies a radius R_z in the smoothing space, and a perturbation delta of x moves z by
 * M delta with ||M delta|| <= ||M||_2 ||delta||: the input-space radius is R_z / ||M||_2
 * (README, "Radius space (soundness)"). `noiseScale` is that certified upper bound on ||M||_2.
 *
 * | method / noise       | smoothing space          | M        | G                 |
 * | rs                   | input                    | I        | I                 |
 * | max|mean correlated  | resized image            | R        | patch selection P |
 * | max|mean input       | input                    | I        | P R               |
 * | max|mean uncorrelated| stacked patches          | P R      | I                 |
 *
 * With `pad` (the translation variant) the zero pad Pad takes the place of the resize R: patches
 * cut from the zero-padded canvas are translated copies of the input. Pad is an isometry, so with
 * correlated noise the canvas radius IS the input-space radius (||Pad||_2 = 1), and with
 * uncorrelated noise ||P Pad||_2 = sqrt(lambda_max(Pad^T C Pad)) = sqrt(most patches covering one
 * input pixel), C being the diagonal of patch counts per canvas pixel.
 *
 * Two reducers implement this: PatchReducer (images, below) slides patches over H x W, and
 * WindowReducer (window-reducer.ts) slides windows over the frames of a video clip. `createReducer`
 * picks the one the classifier's input calls for.
 */
import { UsageError } from '../core/errors.js';
import { GaussianRng } from '../core/rng.js';
import { type ClipLayout, type Shape3, formatShape, sameShape, shapeSize } from '../core/shape.js';
import { LinearMap } from './linear-map.js';
import { operatorNorm } from './operator-norm.js';
import {
  type PatchPosition,
  axisPositions,
  gridPositions,
  patchPixelIndices,
  randomPositions,
} from './patches.js';
import { padAxisMap, padMap } from './pad.js';
import { type ResizeMode, resizeAxisMap, resizeMap } from './resize.js';
import { WindowReducer } from './window-reducer.js';
import type { AggregateOver, Reduction } from './aggregate.js';

export type Method = 'rs' | Reduction;

/** largest resized image (per channel): 2048 x 2048 */
const MAX_RESIZED_PIXELS = 2 ** 22;
export type NoiseMode = 'correlated' | 'uncorrelated' | 'input';

/** How inputs become model inputs; checked by parseSmoothingOptions (src/options.ts) before use. */
export interface ReduceOptions {
  method: Method;
  /** size of the resized image (Smooth-Reduce step 1); default: the input size plus 4 on each axis */
  resize?: { height: number; width: number };
  resizeMode: ResizeMode;
  /**
   * translation variant (instead of `resize`): patches cut from the input zero-padded by this many
   * pixels on each side; the canvas is an isometric embedding of the input (norm 1)
   */
  pad?: number;
  /** patch stride on the resized image (or the padded canvas) */
  stride: number;
  /** cap on the number of patches (grid: evenly spread; random: how many) */
  maxPatches?: number;
  /** sample patch positions at random (seeded per input) instead of on the grid */
  randomPatches: boolean;
  noise: NoiseMode;
  aggregate: AggregateOver;
  /** video: frames per window (a check: it must be the model's T) */
  window?: number;
  /** video: window stride in frames (default: the window length, non-overlapping chunks) */
  windowStride?: number;
  /** video: cap on the number of windows (evenly spread) */
  maxWindows?: number;
  /** video, plain RS: start frame of the one window (default: the centred window) */
  windowOffset?: number;
}

/** Everything the sampler needs to draw votes for one input. */
export interface Plan {
  /** the point the noise is centred on, in the smoothing space */
  center: Float32Array;
  /** certified upper bound on ||M||_2: input-space radius = smoothing-space radius / noiseScale */
  noiseScale: number;
  /**
   * upper bound on ||center - M x||_2, the float32 rounding of the centre (smoothing space): the
   * certificate is about `center`, so this much of its radius is spent reaching M x
   */
  centerError: number;
  /** model inputs per noisy sample */
  copies: number;
  /** smoothing-space sample -> `copies` stacked model inputs */
  gather: LinearMap;
  /** patch positions in the resized image (empty for rs and video) */
  positions: PatchPosition[];
  /** video: start frame of every window (absent or empty for images) */
  windows?: number[];
}

/** Describes the smoothing space of a configuration, for logs and manifests. */
export interface Geometry {
  smoothingSpace: string;
  smoothingShape: number[];
  copies: number;
}

/** Turns one input into its Plan; the geometry and the norm are fixed at construction. */
export interface Reducer {
  readonly geometry: Geometry;
  /** ||M||_2 bound shared by every input, or null when it depends on the input (random patches) */
  readonly fixedNoiseScale: number | null;
  /** the plan for one input (its index seeds random patch positions) */
  prepare(pixels: Float32Array, index: number): Plan;
}

/**
 * The reducer for a classifier: windows over time for a video classifier (input C x T x H x W),
 * patches over the image otherwise.
 */
export function createReducer(
  options: ReduceOptions,
  inputShape: Shape3,
  classifier: { inputShape: Shape3; layout?: ClipLayout },
  seed = 0,
): Reducer {
  const model = classifier.inputShape;
  if (model.frames !== undefined) return new WindowReducer(options, inputShape, model, classifier.layout);
  if (inputShape.frames !== undefined) {
    throw new UsageError(
      `the data holds video clips (${formatShape(inputShape)}) but the model takes images (${formatShape(model)})`,
    );
  }
  const videoOption = (['window', 'windowStride', 'maxWindows', 'windowOffset'] as const).find(
    (k) => options[k] !== undefined,
  );
  if (videoOption) throw new UsageError(`${videoOption} applies to video models only`);
  return new PatchReducer(options, inputShape, model, seed);
}

export class PatchReducer implements Reducer {
  readonly geometry: Geometry;
  private readonly resized: Shape3;
  private fixed?: { positions: PatchPosition[]; map: LinearMap; gather: LinearMap; noiseScale: number };
  private readonly resizeR?: LinearMap;
  private resizeNorm = 1;

  /**
   * @param inputShape shape of the data (C x H x W)
   * @param modelShape shape the classifier takes (C x h x w): the patch size
   * @param seed run seed, for random patch positions
   */
  constructor(
    readonly options: ReduceOptions,
    readonly inputShape: Shape3,
    readonly modelShape: Shape3,
    private readonly seed = 0,
  ) {
    const o = options;
    for (const [what, s] of [
      ['the data', inputShape],
      ['the model input', modelShape],
    ] as const) {
      if (![s.channels, s.height, s.width].every((d) => Number.isInteger(d) && d > 0))
        throw new UsageError(`${what} is ${formatShape(s)}: every dimension must be at least 1`);
    }
    if (inputShape.channels !== modelShape.channels) {
      throw new UsageError(
        `the data has ${inputShape.channels} channel(s) but the model takes ${modelShape.channels}`,
      );
    }
    if (o.method === 'rs') {
      if (!sameShape(inputShape, modelShape)) {
        throw new UsageError(
          `the data is ${formatShape(inputShape)} but the model takes ${formatShape(modelShape)}; ` +
            'plain RS needs them equal (Smooth-Reduce, --method max|mean, feeds patches of the model size)',
        );
      }
      this.resized = inputShape;
      this.geometry = { smoothingSpace: 'input', smoothingShape: shape3(inputShape), copies: 1 };
      return;
    }
    // the options schema checks it too; a reducer built directly must not loop on a fractional stride
    if (!Number.isInteger(o.stride) || o.stride < 1)
      throw new UsageError(`--stride must be a positive integer, got ${o.stride}`);
    const pad = o.pad;
    if (pad !== undefined) {
      if (o.resize !== undefined)
        throw new UsageError('--pad and --resize are alternatives (translations or a zoom): choose one');
      if (!Number.isInteger(pad) || pad < 0)
        throw new UsageError(`--pad must be a whole number of pixels >= 0, got ${pad}`);
    }
    const size =
      pad !== undefined
        ? { height: inputShape.height + 2 * pad, width: inputShape.width + 2 * pad }
        : (o.resize ?? { height: inputShape.height + 4, width: inputShape.width + 4 });
    const flag = pad !== undefined ? '--pad' : '--resize';
    if (![size.height, size.width].every((d) => Number.isInteger(d) && d >= 1))
      throw new UsageError(`--resize must be whole numbers of pixels >= 1, got ${size.height}x${size.width}`);
    if (size.height * size.width > MAX_RESIZED_PIXELS) {
      throw new UsageError(
        `${pad !== undefined ? `--pad ${pad} gives a ${size.height}x${size.width} canvas, which` : `--resize ${size.height}x${size.width}`} is too large (at most ${MAX_RESIZED_PIXELS} pixels per channel)`,
      );
    }
    if (size.height < modelShape.height || size.width < modelShape.width) {
      throw new UsageError(
        `the patch (model input ${modelShape.height}x${modelShape.width}) is larger than the ${pad !== undefined ? 'padded' : 'resized'} image ` +
          `${size.height}x${size.width}; choose ${flag} so that it is at least the model input size`,
      );
    }
    this.resized = { channels: inputShape.channels, height: size.height, width: size.width };
    const perChannel = this.canvasMap(1);
    this.resizeR = this.canvasMap(inputShape.channels);
    const k = o.randomPatches
      ? o.maxPatches!
      : gridPositions(size.height, size.width, modelShape, o.stride, o.maxPatches).length;
    if (o.noise === 'correlated' && pad !== undefined) {
      // Pad^T Pad = I exactly (weights 0 and 1, each input pixel read once): an isometry
      this.resizeNorm = 1;
    } else if (o.noise === 'correlated') {
      // R = R_h (x) R_w per channel, so ||R|| = ||R_h|| ||R_w||; both values are upper bounds (the
      // 2-D map's weights are the float32 products), take the larger
      this.resizeNorm = Math.max(
        operatorNorm(perChannel).upper,
        operatorNorm(this.axisMap('height')).upper * operatorNorm(this.axisMap('width')).upper,
      );
    }
    const space = {
      correlated: {
        name:
          pad !== undefined
            ? `padded canvas (${size.height}x${size.width}, zero pad ${pad})`
            : `resized image (${size.height}x${size.width}, ${o.resizeMode})`,
        shape: shape3(this.resized),
      },
      input: { name: 'input', shape: shape3(inputShape) },
      uncorrelated: {
        name: `stacked patches (${k} x ${formatShape(modelShape)})`,
        shape: [k, ...shape3(modelShape)],
      },
    }[o.noise];
    this.geometry = { smoothingSpace: space.name, smoothingShape: space.shape, copies: k };
    if (!o.randomPatches)
      this.fixed = this.build(gridPositions(size.height, size.width, modelShape, o.stride, o.maxPatches));
  }

  /** The patch positions every input shares (grid patches), or null (plain RS, random patches). */
  get fixedPositions(): readonly PatchPosition[] | null {
    return this.fixed?.positions ?? null;
  }

  /** ||M||_2 bound shared by every input, or null when it depends on the input (random patches). */
  get fixedNoiseScale(): number | null {
    if (this.options.method === 'rs') return 1;
    return this.fixed
      ? this.fixed.noiseScale
      : this.options.noise === 'uncorrelated'
        ? null
        : this.options.noise === 'input'
          ? 1
          : this.resizeNorm;
  }

  /** The plan for one input (its index seeds random patch positions). */
  prepare(pixels: Float32Array, index: number): Plan {
    if (pixels.length !== shapeSize(this.inputShape)) {
      throw new UsageError(
        `input ${index} has ${pixels.length} values, expected ${shapeSize(this.inputShape)}`,
      );
    }
    if (this.options.method === 'rs') {
      return {
        center: pixels,
        noiseScale: 1,
        centerError: 0,
        copies: 1,
        gather: LinearMap.identity(pixels.length),
        positions: [],
        windows: [],
      };
    }
    const g = this.fixed ?? this.build(this.randomPositionsFor(index));
    const center = new Float32Array(g.map.rows);
    g.map.apply(pixels, 0, center, 0);
    return {
      center,
      noiseScale: g.noiseScale,
      centerError: g.map.isIdentity ? 0 : g.map.roundingError(pixels, center),
      copies: g.positions.length,
      gather: g.gather,
      positions: g.positions,
      windows: [],
    };
  }

  /** The 1-D resize (or zero pad) along one axis (R_h or R_w), with exact weights. */
  private axisMap(axis: 'height' | 'width'): LinearMap {
    const { pad, resizeMode } = this.options;
    return pad !== undefined
      ? padAxisMap(this.inputShape[axis], pad)
      : resizeAxisMap(this.inputShape[axis], this.resized[axis], resizeMode);
  }

  /** The map from the input to the canvas the patches are cut from: the resize R or the zero pad. */
  private canvasMap(channels: number): LinearMap {
    const { height, width } = this.inputShape;
    const { pad, resizeMode } = this.options;
    return pad !== undefined
      ? padMap(channels, height, width, pad)
      : resizeMap(channels, height, width, this.resized.height, this.resized.width, resizeMode);
  }

  /**
   * For patches on a full grid, the stacked-patch map is (P_h R_h) (x) (P_w R_w) with P_h stacking
   * the patch rows of every grid row (likewise columns), so ||T|| = ||P_h R_h|| ||P_w R_w||; 0 when
   * the positions are not a full grid (capped or random).
   */
  private gridKroneckerNorm(positions: PatchPosition[]): number {
    const { stride } = this.options;
    const tops = axisPositions(this.resized.height, this.modelShape.height, stride);
    const lefts = axisPositions(this.resized.width, this.modelShape.width, stride);
    if (this.options.randomPatches || positions.length !== tops.length * lefts.length) return 0;
    const stacked = (axis: 'height' | 'width', starts: number[]) => {
      const rows: number[] = [];
      for (const s of starts) for (let i = 0; i < this.modelShape[axis]; i++) rows.push(s + i);
      return operatorNorm(this.axisMap(axis).selectRows(rows)).upper;
    };
    return stacked('height', tops) * stacked('width', lefts);
  }

  private randomPositionsFor(index: number): PatchPosition[] {
    // A stream id far from the noise streams (which use the input index).
    const rng = new GaussianRng(this.seed, 2 ** 40 + index);
    return randomPositions(
      this.resized.height,
      this.resized.width,
      this.modelShape,
      this.options.maxPatches!,
      rng,
    );
  }

  private build(positions: PatchPosition[]) {
    const { channels, height, width } = this.resized;
    const rows = patchPixelIndices(positions, channels, height, width, this.modelShape);
    const R = this.resizeR!;
    switch (this.options.noise) {
      case 'correlated':
        return {
          positions,
          map: R,
          gather: LinearMap.identity(R.rows).selectRows(rows),
          noiseScale: this.resizeNorm,
        };
      case 'input':
        return { positions, map: LinearMap.identity(R.cols), gather: R.selectRows(rows), noiseScale: 1 };
      case 'uncorrelated': {
        const map = R.selectRows(rows);
        const perChannel = this.canvasMap(1);
        const single = perChannel.selectRows(patchPixelIndices(positions, 1, height, width, this.modelShape));
        return {
          positions,
          map,
          gather: LinearMap.identity(map.rows),
          noiseScale: Math.max(operatorNorm(single).upper, this.gridKroneckerNorm(positions)),
        };
      }
    }
  }
}

function shape3(s: Shape3): number[] {
  return [s.channels, s.height, s.width];
}
