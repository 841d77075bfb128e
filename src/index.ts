/**
 * smooth-reduce as a library: certified L2 robustness of ONNX classifiers with randomized smoothing
 * (Cohen et al. 2019) and Smooth-Reduce (Joshi et al. 2022).
 *
 *   import { OnnxClassifier, certify } from 'smooth-reduce';
 *   const f = await OnnxClassifier.load('models/fmnist-cnn-s025');
 *   const c = await certify(f, { pixels, index: 0 }, { sigma: 0.25, method: 'mean', n: 10_000 });
 *   // c.prediction (-1: abstain), c.radius (L2, input space), c.pALower, c.counts
 *
 * Results equal the CLI's log line for the same input index, seed and options.
 *
 * Denoised smoothing (a classifier trained without noise, a denoiser in front):
 *   const d = await OnnxDenoiser.load('models/cifar10-dncnn-stab-s025', { sigma: 0.25 });
 *   const c = await certify(new DenoisedClassifier(d, f), { pixels }, { sigma: 0.25 });
 */
export {
  SmoothedClassifier,
  certify,
  predict,
  type InputToSmooth,
  type OneInput,
  type CertifyResult,
  type PredictResult,
} from './smoothed-classifier.js';
export { type CompanionOverrides } from './reduce/companions.js';
export {
  defaultSmoothingOptions,
  parseSmoothingOptions,
  smoothingOptionsSchema,
  validateSmoothingOptions,
  type SmoothingOptions,
  type SmoothingOptionsInput,
} from './options.js';
export { OptionsError, type OptionIssue } from './core/params.js';
export { OnnxClassifier, type LoadOptions, type Device } from './models/onnx-classifier.js';
export type { Classifier } from './models/classifier.js';
export { DenoisedClassifier, checkDenoiser, type Denoiser, type Denoising } from './models/denoiser.js';
export { OnnxDenoiser, type DenoiserLoadOptions } from './models/onnx-denoiser.js';
export { type DenoiserCard, validateDenoiserCard } from './models/denoiser-card.js';
export { alphaBars, diffusionStep, type DiffusionStep } from './models/diffusion.js';
export { type ModelCard, readModelCard, validateModelCard } from './models/model-card.js';
export {
  PatchReducer,
  createReducer,
  type Reducer,
  type Method,
  type NoiseMode,
  type ReduceOptions,
} from './reduce/reducer.js';
export { WindowReducer } from './reduce/window-reducer.js';
export { operatorNorm } from './reduce/operator-norm.js';
export { resizeMap } from './reduce/resize.js';
export {
  ABSTAIN,
  certifyVotes,
  certifyVotesAdaptive,
  predictVotes,
  type VoteSource,
  type Certificate,
} from './core/smooth.js';
export {
  clopperPearsonLower,
  clopperPearsonUpper,
  phi,
  phiInverse,
  binomialTwoSidedPValue,
} from './core/stats.js';
export { GaussianRng } from './core/rng.js';
export { UsageError } from './core/errors.js';
export { openDataset, type OpenOptions } from './data/open.js';
export type { Dataset, Input } from './data/dataset.js';
export { readLog, outcomes, type CertificationLog } from './analysis/log.js';
export { summarize, certifiedAccuracy, averageCertifiedRadius, abstentionRate } from './analysis/metrics.js';
export { comparePaired, pairedTests, type PairedComparison, type PairedTests } from './analysis/compare.js';
export {
  clopperPearsonInterval,
  mcnemarExact,
  pairedBootstrap,
  type Interval,
  type BootstrapOptions,
} from './analysis/statistics.js';
