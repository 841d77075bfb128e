/**
 * Reading the JSON files beside models and logs (model cards, run manifests).
 */
import { readFileSync } from 'node:fs';
import { UsageError } from '../core/errors.js';

/** Parses the JSON file `path`; a missing or malformed file is a UsageError naming `what` it is. */
export function readJsonFile(path: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`cannot read ${what} ${path}: ${(e as Error).message}`);
  }
}
