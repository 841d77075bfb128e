/**
 * One-shot denoising with a DDPM epsilon-prediction network (Carlini et al., ICLR 2023, "(Certified!!)
 * Adversarial Robustness for Free!"), the scale conversions written down once.
 *
 * The noisy sample x + e lives in the classifier's pixel range [lo, hi] with noise sigma. The
 * diffusion model works in its own range [a, b] (usually [-1, 1]): the affine map
 * x' = a + (b - a) (x - lo) / (hi - lo) scales the noise too, sigma' = sigma (b - a) / (hi - lo)
 * (so sigma 0.25 on [0, 1] pixels is 0.5 on [-1, 1]). DDPM's forward process is
 * x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, i.e. x_t / sqrt(abar_t) = x_0 + sqrt((1 - abar_t) / abar_t) eps:
 * pick t with (1 - abar_t) / abar_t closest to sigma'^2, feed x_t = sqrt(abar_t) x', and
 * x0_hat = (x_t - sqrt(1 - abar_t) eps(x_t, t)) / sqrt(abar_t), mapped back to [lo, hi].
 * No Node imports.
 */
import { UsageError } from '../core/errors.js';
import type { DenoiserCard } from './denoiser-card.js';

type Schedule = NonNullable<DenoiserCard['diffusion']>['schedule'];

/** abar_t for t = 0 .. T-1 (the DDPM convention: t = 0 is the first noising step). */
export function alphaBars(schedule: Schedule): Float64Array {
  if ('alphaBar' in schedule) return Float64Array.from(schedule.alphaBar);
  const T = schedule.steps;
  const betas = new Float64Array(T);
  if (schedule.betaSchedule === 'linear') {
    const start = schedule.betaStart ?? 1e-4;
    const end = schedule.betaEnd ?? 0.02;
    for (let t = 0; t < T; t++) betas[t] = T === 1 ? start : start + ((end - start) * t) / (T - 1);
  } else {
    // Nichol & Dhariwal (2021): abar(t) = f(t) / f(0), f(t) = cos^2(((t / T) + s) / (1 + s) * pi / 2), betas <= 0.999
    const s = 0.008;
    const f = (t: number) => Math.cos(((t / T + s) / (1 + s)) * (Math.PI / 2)) ** 2;
    for (let t = 0; t < T; t++) betas[t] = Math.min(1 - f(t + 1) / f(t), 0.999);
  }
  const out = new Float64Array(T);
  let prod = 1;
  for (let t = 0; t < T; t++) out[t] = prod *= 1 - betas[t];
  return out;
}

/** The one-shot timestep for noise `sigmaModel` (in the model's range): (1 - abar_t) / abar_t closest to its square. */
export function oneShotTimestep(abar: Float64Array, sigmaModel: number): { t: number; alphaBar: number } {
  const target = sigmaModel * sigmaModel;
  let best = 0;
  for (let t = 1; t < abar.length; t++) {
    if (Math.abs((1 - abar[t]) / abar[t] - target) < Math.abs((1 - abar[best]) / abar[best] - target))
      best = t;
  }
  return { t: best, alphaBar: abar[best] };
}

/** The affine maps between the classifier's pixel range and the model's, and the noise level there. */
export interface DiffusionStep {
  t: number;
  alphaBar: number;
  /** sigma in the model's range */
  sigmaModel: number;
  /** x_t = scale * x + shift for a noisy pixel x in the classifier's range */
  scale: number;
  shift: number;
  /** pixel = outScale * x0_hat + outShift */
  outScale: number;
  outShift: number;
}

/**
 * The step that denoises noise `sigma` (in `pixelRange`, the classifier's scale) with a model working
 * in `modelRange`; refuses a sigma beyond the schedule's noise levels.
 */
export function diffusionStep(
  abar: Float64Array,
  pixelRange: readonly [number, number],
  modelRange: readonly [number, number],
  sigma: number,
): DiffusionStep {
  const [lo, hi] = pixelRange;
  const [a, b] = modelRange;
  const k = (b - a) / (hi - lo);
  const sigmaModel = sigma * k;
  const { t, alphaBar } = oneShotTimestep(abar, sigmaModel);
  const largest = Math.sqrt((1 - abar[abar.length - 1]) / abar[abar.length - 1]);
  if (sigmaModel > largest)
    throw new UsageError(
      `sigma ${sigma} is ${sigmaModel} in the diffusion model's range [${a}, ${b}], beyond its schedule's largest noise level ${largest.toPrecision(4)}`,
    );
  const root = Math.sqrt(alphaBar);
  return {
    t,
    alphaBar,
    sigmaModel,
    // x_t = sqrt(abar) (a + k (x - lo))
    scale: root * k,
    shift: root * (a - k * lo),
    // x = lo + (x0 - a) / k
    outScale: 1 / k,
    outShift: lo - a / k,
  };
}

/**
 * In place: x_t (the model's input, as `diffusionStep` scaled it) and the predicted noise eps to the
 * denoised image in the classifier's pixel range.
 */
export function denoisedFromEps(xt: Float32Array, eps: ArrayLike<number>, step: DiffusionStep): void {
  const root = Math.sqrt(step.alphaBar);
  const rest = Math.sqrt(1 - step.alphaBar);
  for (let i = 0; i < xt.length; i++) {
    const x0 = (xt[i] - rest * eps[i]) / root;
    xt[i] = step.outScale * x0 + step.outShift;
  }
}

/**
 * The inputs of a diffusion model's graph, (image, timestep): the timestep is the input named t or
 * timestep(s), else the one of rank 1 (`rank(i)`: the rank of input i, when the runtime knows it).
 */
export function diffusionInputs(
  names: readonly string[],
  rank: (i: number) => number | undefined,
): { image: string; timestep: string } {
  const byName = names.findIndex((n) => /^(t|timesteps?)$/i.test(n));
  const t = byName >= 0 ? byName : names.findIndex((_, i) => rank(i) === 1);
  const timestep = t >= 0 ? t : 1;
  return { image: names[timestep === 0 ? 1 : 0], timestep: names[timestep] };
}

/** The timestep tensor's values for `count` images: int64 (most checkpoints) or float32. */
export function timestepValues(
  step: DiffusionStep,
  type: 'int64' | 'float32',
  count: number,
): BigInt64Array | Float32Array {
  return type === 'int64'
    ? BigInt64Array.from({ length: count }, () => BigInt(step.t))
    : new Float32Array(count).fill(step.t);
}

/** x_t for noisy pixels `data` (the classifier's range), as the model takes it (a new array). */
export function diffusionInput(data: Float32Array, step: DiffusionStep): Float32Array {
  return Float32Array.from(data, (v) => step.scale * v + step.shift);
}
