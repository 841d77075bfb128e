/** `smooth-reduce merge <shard.tsv...> --out merged.tsv`: one log from the shards of a `--shard i/n` run. */
import type { Command } from 'commander';
import { mergeShards } from '../run/merge.js';
import type { OutputStreams } from './streams.js';

export function register(program: Command, streams: OutputStreams): void {
  program
    .command('merge')
    .description(
      'merge the logs of a sharded run (certify/predict --shard i/n, each with its manifest) into one log ' +
        'sorted by idx, as one unsharded run would have written it, with a merged manifest',
    )
    .argument('<shard...>', 'shard logs (every shard of the run once)')
    .requiredOption('--out <log.tsv>', 'merged log to write (must not exist)')
    .option('--quiet', 'print nothing but errors', false)
    .action((logs: string[], opts: { out: string; quiet: boolean }) => {
      const merged = mergeShards(logs, opts.out);
      if (!opts.quiet) {
        streams.stderr.write(
          `merged ${merged.shards} shards, ${merged.lines} inputs: ${merged.out} (${merged.manifest.label})\n`,
        );
      }
    });
}
