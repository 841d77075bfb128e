/**
 * `certify --also out=LOG[,method=max|mean][,aggregate=logits|softmax][,stride=S][,max-patches=K]`
 * (video: `[,window-stride=S][,max-windows=K]`):
 * a companion run certified from the same model calls as the run's own (src/reduce/companions.ts).
 * Options not named are the run's own.
 */
import { InvalidArgumentError } from 'commander';
import type { CompanionOverrides } from '../reduce/companions.js';

export interface CompanionSpec {
  overrides: CompanionOverrides;
  out: string;
}

const KEYS = ['out', 'method', 'aggregate', 'stride', 'max-patches', 'window-stride', 'max-windows'];

function positive(key: string, value: string): number {
  if (!/^[1-9]\d*$/.test(value))
    throw new InvalidArgumentError(`${key} must be a positive integer, got ${value}`);
  return Number(value);
}

function choice<T extends string>(key: string, value: string, values: readonly T[]): T {
  if (!values.includes(value as T))
    throw new InvalidArgumentError(`${key} must be one of ${values.join(', ')}, got ${value}`);
  return value as T;
}

/** One --also value; repeated flags accumulate (commander's argParser with the previous list). */
export function parseCompanionSpec(spec: string, previous: CompanionSpec[] = []): CompanionSpec[] {
  const overrides: CompanionOverrides = {};
  let out: string | undefined;
  const seen = new Set<string>();
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part.trim() : part.slice(0, eq).trim();
    const value = eq < 0 ? '' : part.slice(eq + 1).trim();
    if (!KEYS.includes(key))
      throw new InvalidArgumentError(`expected key=value pairs with keys ${KEYS.join(', ')}`);
    if (seen.has(key)) throw new InvalidArgumentError(`${key} is given twice`);
    seen.add(key);
    if (value === '') throw new InvalidArgumentError(`${key} needs a value (${key}=...)`);
    if (key === 'out') out = value;
    else if (key === 'method') overrides.method = choice(key, value, ['max', 'mean'] as const);
    else if (key === 'aggregate') overrides.aggregate = choice(key, value, ['logits', 'softmax'] as const);
    else if (key === 'stride') overrides.stride = positive(key, value);
    else if (key === 'max-patches') overrides.maxPatches = positive(key, value);
    else if (key === 'window-stride') overrides.windowStride = positive(key, value);
    else overrides.maxWindows = positive(key, value);
  }
  if (out === undefined) throw new InvalidArgumentError('needs out=LOG, the companion log');
  return [...previous, { overrides, out }];
}
