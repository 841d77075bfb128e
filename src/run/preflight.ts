/**
 * Checks done before a run writes or samples anything, so that bad input stops it with one line:
 * the --out path, the data's labels against the model's classes, and every selected file's header.
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../core/errors.js';
import { type Dataset, UNLABELLED } from '../data/dataset.js';

/** --out must be a file (or nothing yet) in a folder this process can write. */
export function checkOutPath(out: string): void {
  if (existsSync(out) && statSync(out).isDirectory())
    throw new UsageError(`--out ${out} is a folder, not a log file`);
  let dir = dirname(resolve(out));
  while (!existsSync(dir)) dir = dirname(dir);
  if (!statSync(dir).isDirectory()) throw new UsageError(`--out ${out}: ${dir} is a file, not a folder`);
  try {
    accessSync(dir, constants.W_OK);
    if (existsSync(out)) accessSync(out, constants.W_OK);
  } catch {
    throw new UsageError(`--out ${out}: cannot write there (permission denied or read-only)`);
  }
}

/** Every selected input's label must be one of the model's classes (or -1: image files given without --label). */
export function checkLabels(dataset: Dataset, indices: readonly number[], classes: number): void {
  if (dataset.classes && dataset.classes.length > classes) {
    throw new UsageError(
      `${dataset.description} has ${dataset.classes.length} classes but the model has ${classes}: its labels do not match the model's outputs`,
    );
  }
  if (!dataset.labelOf) return;
  for (const i of indices) {
    const label = dataset.labelOf(i);
    if (label === UNLABELLED) continue;
    if (!(Number.isInteger(label) && label >= 0 && label < classes)) {
      throw new UsageError(
        `input ${i} of ${dataset.description} has label ${label}, but the model has ${classes} classes (0..${classes - 1})`,
      );
    }
  }
}

/** All of the above, and the data reader's own header checks of the selected inputs. */
export function preflight(out: string, dataset: Dataset, indices: readonly number[], classes: number): void {
  checkOutPath(out);
  checkLabels(dataset, indices, classes);
  dataset.check?.(indices);
}
