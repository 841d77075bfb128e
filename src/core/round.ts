/**
 * Writing bounds as decimal text without inflating them: a radius or a probability lower bound
 * rounded to the NEAREST 6 significant digits can come out larger than the number computed
 * (0.4999996 -> "0.5", which `analyze` then counts as certified at r = 0.5). `formatDown` rounds
 * toward zero instead, so the number read back from the text never exceeds the one certified.
 */

/** `x` with `digits` significant digits, rounded toward zero; trailing zeros dropped ("0.5", "1.0"). */
export function formatDown(x: number, digits = 6): string {
  if (!Number.isFinite(x)) throw new RangeError(`cannot write ${x} as a bound`);
  if (Number.isInteger(x) && Math.abs(x) < 1e21) return x.toFixed(1);
  // one unit in the last written digit of x's own decade
  const step = 10 ** (Math.floor(Math.log10(Math.abs(x))) - digits + 1);
  let s = x.toPrecision(digits);
  while (Math.abs(Number(s)) > Math.abs(x)) s = (Number(s) - Math.sign(x) * step).toPrecision(digits);
  if (s.includes('.') && !s.includes('e')) s = s.replace(/0+$/, '').replace(/\.$/, '.0');
  return s;
}
