/**
 * The rules for every option of the certification, as zod schemas: one definition, checked at
 * each boundary (the SmoothedClassifier constructor, the bare CERTIFY / PREDICT over votes, the CLI,
 * the HTTP service) and turned into JSON Schema for the service's API (`z.toJSONSchema`). Messages
 * name options in library terms (`sigma must be > 0, got 0`); OptionsError.describe renames them
 * (the CLI: `--sigma must be > 0, got 0`). No Node imports.
 */
import { z } from 'zod';
import { UsageError } from './errors.js';

/** A check's message: what the value must be, e.g. "must be > 0" (the name and value are added). */
export const rule = (text: string) => ({ error: text });

const POSITIVE_INTEGER = 'must be a positive integer';
export const positiveInteger = () => z.int(rule(POSITIVE_INTEGER)).min(1, rule(POSITIVE_INTEGER));
export const sigmaSchema = z.number(rule('must be > 0')).gt(0, rule('must be > 0'));
export const alphaSchema = z
  .number(rule('must be in (0, 1)'))
  .gt(0, rule('must be in (0, 1)'))
  .lt(1, rule('must be in (0, 1)'));

/**
 * A bound on the total-variation distance between one noisy sample as drawn and as exact Gaussian
 * noise would give it (see samplerDeviation in ./rng.ts); 0 for an ideal vote source. CERTIFY
 * subtracts it from pA's lower bound, PREDICT charges it to its test (samplerSlack in ./stats.ts).
 */
const deductionSchema = z
  .number(rule('must be in [0, 1)'))
  .min(0, rule('must be in [0, 1)'))
  .lt(1, rule('must be in [0, 1)'))
  .default(0);

/** CERTIFY's parameters (smoothing space). */
export const certifyParamsSchema = z.object({
  /** noise level sigma of the smoothing distribution */
  sigma: sigmaSchema,
  /** samples used to select the top class */
  n0: positiveInteger(),
  /** samples used to estimate its probability */
  n: positiveInteger(),
  /** failure probability of the certificate */
  alpha: alphaSchema,
  /** probability subtracted from pA's lower bound for the sampler (deductionSchema) */
  deduction: deductionSchema,
});

/** Adaptive CERTIFY's parameters: CERTIFY's, the radius that decides when to stop, the looks. */
export const adaptiveParamsSchema = certifyParamsSchema.extend({
  radius: z.number(rule('must be a radius >= 0')).min(0, rule('must be a radius >= 0')),
  looks: positiveInteger(),
});

/** Input-specific CERTIFY's parameters: CERTIFY's and the tolerated relative radius loss. */
export const inputSpecificParamsSchema = certifyParamsSchema.extend({
  loss: z
    .number(rule('must be a fraction in [0, 1)'))
    .min(0, rule('must be a fraction in [0, 1)'))
    .lt(1, rule('must be a fraction in [0, 1)')),
});

/** PREDICT's parameters. */
export const predictParamsSchema = z.object({
  n: positiveInteger(),
  alpha: alphaSchema,
  /** per-sample bound on the sampler's deviation, charged to the test (deductionSchema) */
  deduction: deductionSchema,
});

/** One problem with one option. */
export interface OptionIssue {
  /** the option, e.g. "sigma" or "resize.height"; "" for the options as a whole */
  key: string;
  /**
   * the message; `{name}` placeholders (e.g. `{n0}`) stand for option names, and without any the
   * message follows the option's name and is followed by the value given
   */
  text: string;
  value: unknown;
}

/** Bad options: a UsageError whose message names the options in library terms. */
export class OptionsError extends UsageError {
  override name = 'OptionsError';

  constructor(readonly issues: OptionIssue[]) {
    super(describeIssues(issues, (key) => key));
  }

  /** The message with every option named by `name` (e.g. key -> flag). */
  describe(name: (key: string) => string): string {
    return describeIssues(this.issues, name);
  }
}

/**
 * `value` checked against `schema` (defaults filled in), or an OptionsError listing every problem.
 */
export function parseOptions<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new OptionsError(
    result.error.issues.map((issue) => {
      const key = issue.path.map(String).join('.');
      if (issue.code === 'unrecognized_keys') {
        return {
          key,
          text: `unknown option${issue.keys.length === 1 ? '' : 's'} ${issue.keys.map((k) => `{${k}}`).join(', ')}`,
          value,
        };
      }
      return { key, text: issue.message, value: valueAt(value, issue.path) };
    }),
  );
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let v = value;
  for (const k of path)
    v = typeof v === 'object' && v !== null ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

function describeIssues(issues: readonly OptionIssue[], name: (key: string) => string): string {
  return issues
    .map(({ key, text, value }) => {
      if (/\{[^}]+\}/.test(text)) return text.replace(/\{([^}]+)\}/g, (_, k: string) => name(k));
      const shown = typeof value === 'number' || value === undefined ? String(value) : JSON.stringify(value);
      return `${name(key)} ${text}, got ${shown}`;
    })
    .join('; ');
}
