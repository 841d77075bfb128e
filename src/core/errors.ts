/** A problem with the user's input, files or options: the CLI prints its message alone, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
