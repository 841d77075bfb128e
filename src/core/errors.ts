/** A problem with the user's input, files or options: the CLI prints its message alone, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * One input that cannot be read (a corrupt, truncated or too short video): a run reports it on one
 * line, records it as skipped and goes on with the next input.
 */
export class InputError extends Error {
  override name = 'InputError';
}
