/**
 * Spectral norm ||M||_2 of a non-negative linear map, certified from above.
 *
 * ||M||_2^2 = lambda_max(M^T M). For a non-negative matrix A and any positive vector v the
 * Collatz-Wielandt inequality gives lambda_max(A) <= max_i (A v)_i / v_i, so power iteration on
 * A = M^T M from a positive start yields an upper bound that tightens to the true value (and the
 * Rayleigh quotient a lower bound). The upper bound is what turns smoothing-space radii into
 * input-space radii: using it can only shrink a radius, never inflate it.
 */
import type { LinearMap } from './linear-map.js';

export interface NormBounds {
  /** certified upper bound on ||M||_2 (use this one for radii) */
  upper: number;
  /** lower bound on ||M||_2 (Rayleigh quotient) */
  lower: number;
  iterations: number;
}

export function operatorNorm(map: LinearMap, relTol = 1e-9, maxIterations = 20000): NormBounds {
  if (!map.isNonNegative()) throw new Error('operatorNorm: the map has negative weights');
  const n = map.cols;
  let v = new Float64Array(n).fill(1);
  let av = new Float64Array(n);
  const mv = new Float64Array(map.rows);
  let upper = Infinity;
  let lower = 0;
  let it = 0;
  for (; it < maxIterations; it++) {
    map.mul(v, mv);
    map.mulTransposed(mv, av);
    let ratioMax = 0;
    let vav = 0;
    let vv = 0;
    let norm = 0;
    for (let i = 0; i < n; i++) {
      if (av[i] / v[i] > ratioMax) ratioMax = av[i] / v[i];
      vav += v[i] * av[i];
      vv += v[i] * v[i];
      norm = Math.max(norm, av[i]);
    }
    upper = Math.min(upper, ratioMax);
    lower = Math.max(lower, vav / vv);
    if (upper - lower <= relTol * upper) break;
    // next iterate; a tiny floor keeps v strictly positive so the upper bound stays valid
    for (let i = 0; i < n; i++) av[i] = av[i] / norm + 1e-300;
    [v, av] = [av, v];
  }
  // Guard against the last rounding of the float64 arithmetic: a relative 1e-12 margin.
  return { upper: Math.sqrt(upper) * (1 + 1e-12), lower: Math.sqrt(lower), iterations: it + 1 };
}
