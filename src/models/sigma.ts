/**
 * Which sigma a run smooths at, one rule for the CLI, the HTTP API and the page: the sigma given,
 * else the sigma a direct denoiser in front of the model was trained for (denoised smoothing), else
 * the sigma the model card says the model was trained with, else 0.25. A card whose training
 * sigma is 0 (a model trained without noise, certified through a denoiser) names no sigma to
 * smooth at: the default applies, without a warning. No Node imports (the page uses it too).
 */

/** What the rule reads of a model card (a ModelCard is one). */
export interface CardTraining {
  training?: { sigma: number };
}
export const DEFAULT_SIGMA = 0.25;

export interface SigmaChoice {
  sigma: number;
  /** where it came from */
  source: 'given' | 'denoiser' | 'card' | 'default';
  /** the card's training sigma when it is > 0, else null */
  trainingSigma: number | null;
  /** a line saying where sigma came from (for the run's first line) */
  note: string;
  /** a line when the sigma differs from the card's training sigma, else null */
  warning: string | null;
}

/** The card's training sigma when it names one to smooth at (> 0), else null. */
export function cardSigma(card: CardTraining | null | undefined): number | null {
  const s = card?.training?.sigma;
  return typeof s === 'number' && Number.isFinite(s) && s > 0 ? s : null;
}

/** What the rule reads of a denoiser card (a DenoiserCard is one). */
export interface DenoiserTraining {
  name: string;
  kind: string;
  sigma?: number;
}

export function chooseSigma(
  given: number | null | undefined,
  card: CardTraining | null | undefined,
  denoiser?: DenoiserTraining | null,
): SigmaChoice {
  const trainingSigma = cardSigma(card);
  const denoiserSigma = denoiser?.kind === 'direct' && (denoiser.sigma ?? 0) > 0 ? denoiser.sigma! : null;
  if ((given === null || given === undefined) && denoiserSigma !== null)
    return {
      sigma: denoiserSigma,
      source: 'denoiser',
      trainingSigma,
      note: `sigma = ${denoiserSigma}, the sigma the denoiser ${denoiser!.name} was trained for (denoiser card)`,
      warning: null,
    };
  if (given === null || given === undefined) {
    if (trainingSigma !== null)
      return {
        sigma: trainingSigma,
        source: 'card',
        trainingSigma,
        note: `sigma = ${trainingSigma}, the sigma the model was trained with (model card)`,
        warning: null,
      };
    const why =
      card?.training?.sigma === 0
        ? 'the model was trained without noise'
        : 'the model card names no training sigma';
    return {
      sigma: DEFAULT_SIGMA,
      source: 'default',
      trainingSigma,
      note: `sigma = ${DEFAULT_SIGMA}, the default (${why})`,
      warning: null,
    };
  }
  return {
    sigma: given,
    source: 'given',
    trainingSigma,
    note: `sigma = ${given}`,
    warning:
      trainingSigma !== null && given !== trainingSigma
        ? `sigma ${given} differs from the sigma the model was trained with (${trainingSigma}); its certificates are usually weaker`
        : null,
  };
}
