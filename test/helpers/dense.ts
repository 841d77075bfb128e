/**
 * Dense linear algebra for checking operator norms independently of the library's power iteration:
 * a LinearMap as a dense matrix, and the cyclic Jacobi eigenvalue method for symmetric matrices.
 */
import type { LinearMap } from '../../src/reduce/linear-map.js';

/** The map's matrix, rows x cols, row-major. */
export function dense(map: LinearMap): number[][] {
  const out = Array.from({ length: map.rows }, () => new Array<number>(map.cols).fill(0));
  const e = new Float64Array(map.cols);
  const col = new Float64Array(map.rows);
  for (let j = 0; j < map.cols; j++) {
    e.fill(0);
    e[j] = 1;
    map.mul(e, col);
    for (let i = 0; i < map.rows; i++) out[i][j] = col[i];
  }
  return out;
}

/** Eigenvalues and eigenvectors (columns of `vectors`) of a symmetric matrix, by cyclic Jacobi rotations. */
export function symmetricEigen(S: number[][]): { values: number[]; vectors: number[][] } {
  const n = S.length;
  const a = S.map((r) => [...r]);
  const v = Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j): number => (i === j ? 1 : 0)),
  );
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p][q] * a[p][q];
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (Math.abs(a[p][q]) < 1e-300) continue;
        const theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k][p];
          const akq = a[k][q];
          a[k][p] = c * akp - s * akq;
          a[k][q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p][k];
          const aqk = a[q][k];
          a[p][k] = c * apk - s * aqk;
          a[q][k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k][p];
          const vkq = v[k][q];
          v[k][p] = c * vkp - s * vkq;
          v[k][q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: a.map((r, i) => r[i]), vectors: v };
}

/** Largest singular value of a dense matrix and its right singular vector (unit length). */
export function topSingular(M: number[][]): { value: number; vector: number[] } {
  const cols = M[0].length;
  const gram = Array.from({ length: cols }, (_, i) =>
    Array.from({ length: cols }, (_, j) => M.reduce((s, row) => s + row[i] * row[j], 0)),
  );
  const { values, vectors } = symmetricEigen(gram);
  let best = 0;
  for (let i = 1; i < cols; i++) if (values[i] > values[best]) best = i;
  return { value: Math.sqrt(values[best]), vector: vectors.map((r) => r[best]) };
}
