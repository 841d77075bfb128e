/**
 * `smooth-reduce verify <log>`: check a finished run (re-derive every line, its structure, and on
 * request the model, the data, re-run inputs and the signature); `sign <log>`: attest it;
 * `keygen <name>`: an Ed25519 key pair for signing. See src/verify/ and docs/attestation.md.
 */
import type { Command } from 'commander';
import { writeReport } from '../report/report.js';
import { generateKeys } from '../verify/attest.js';
import { signRun, verifyRun } from '../verify/verify.js';
import { parseInteger } from './log-options.js';
import type { OutputStreams } from './streams.js';

/** Some check of `verify` did not hold: exit 1, after every check's line. */
export class VerificationFailed extends Error {
  override name = 'VerificationFailed';
}

interface VerifyCliOptions {
  model?: string;
  card?: string;
  denoiser?: string;
  data?: string;
  labels?: string;
  resample?: string;
  resampleSeed?: string;
  key?: string;
  attestation?: string;
  threads?: string;
  json: boolean;
}

export function register(program: Command, streams: OutputStreams): void {
  program
    .command('verify')
    .description(
      'check a finished run: its lines against its manifest (every selected input once), every pA_lower and radius ' +
        'against what its counts give, and on request the model, the data, k inputs re-run, and the signature; ' +
        'one line per check, exit 0 only when all hold',
    )
    .argument('<log>', 'certification log (its manifest beside it)')
    .option('--model <path>', 'the model: its sha256 must be the manifest’s')
    .option('--card <path>', 'model card, if not model.json beside the model (for --resample)')
    .option('--denoiser <path>', 'the run’s denoiser (denoised smoothing): its sha256 must be the manifest’s')
    .option('--data <path>', 'the data set: its size and the logged labels must be the run’s')
    .option('--labels <path>', 'IDX labels file (default: derived from the images file name)')
    .option(
      '--resample <k>',
      're-run k inputs chosen at random (needs --model and --data): same lines, time aside',
    )
    .option('--resample-seed <s>', 'seed of the choice of inputs to re-run (default: random, reported)')
    .option('--key <public.pem>', 'check the attestation (<log>.intoto.json) against this public key')
    .option('--attestation <path>', 'the attestation to check (default: <log>.intoto.json)')
    .option('--threads <t>', 'ONNX Runtime intra-op threads for --resample')
    .option('--json', 'one JSON object on stdout: { ok, log, checks: [{ name, ok, summary }] }', false)
    .action(async (log: string, opts: VerifyCliOptions) => {
      const checks = await verifyRun({
        log,
        model: opts.model,
        card: opts.card,
        denoiser: opts.denoiser,
        data: opts.data,
        labels: opts.labels,
        resample: opts.resample === undefined ? undefined : parseInteger('--resample', opts.resample, 1, 1e6),
        seed:
          opts.resampleSeed === undefined
            ? undefined
            : parseInteger('--resample-seed', opts.resampleSeed, 0, 2 ** 32 - 1),
        key: opts.key,
        attestation: opts.attestation,
        threads: opts.threads === undefined ? undefined : parseInteger('--threads', opts.threads, 1, 1024),
      });
      const ok = checks.every((c) => c.ok);
      if (opts.json) streams.stdout.write(JSON.stringify({ ok, log, checks }) + '\n');
      else
        for (const c of checks) streams.stdout.write(`${c.ok ? 'PASS' : 'FAIL'} ${c.name}: ${c.summary}\n`);
      const failed = checks.filter((c) => !c.ok);
      if (failed.length > 0)
        throw new VerificationFailed(
          `${log}: ${failed.length} of ${checks.length} checks failed (${failed.map((c) => c.name).join(', ')})`,
        );
    });

  program
    .command('sign')
    .description(
      'check a finished run (as verify) and write <log>.intoto.json: an in-toto Statement v1 in a DSSE envelope, ' +
        'signed with Ed25519, whose subjects are the log, its manifest, the model and the data selection (docs/attestation.md)',
    )
    .argument('<log>', 'certification log (its manifest beside it)')
    .requiredOption('--key <private.pem>', 'Ed25519 private key (smooth-reduce keygen)')
    .requiredOption('--model <path>', 'the run’s model')
    .option('--card <path>', 'model card, if not model.json beside the model')
    .option('--denoiser <path>', 'the run’s denoiser, when it had one')
    .requiredOption('--data <path>', 'the run’s data set')
    .option('--labels <path>', 'IDX labels file (default: derived from the images file name)')
    .option('--quiet', 'print nothing but errors', false)
    .action(
      async (
        log: string,
        opts: {
          key: string;
          model: string;
          card?: string;
          denoiser?: string;
          data: string;
          labels?: string;
          quiet: boolean;
        },
      ) => {
        const signed = await signRun({ log, ...opts });
        if (!opts.quiet)
          streams.stderr.write(`signed ${log}: ${signed.path} (key ${signed.keyid.slice(0, 16)}...)\n`);
      },
    );

  program
    .command('keygen')
    .description(
      'write an Ed25519 key pair for sign / certify --sign: <name>.key (private, mode 600) and <name>.pub',
    )
    .argument('<name>', 'path of the key files without extension')
    .action((name: string) => {
      const k = generateKeys(name);
      streams.stderr.write(
        `wrote ${k.privatePath} (keep it private) and ${k.publicPath} (key id ${k.keyid})\n`,
      );
    });

  program
    .command('report')
    .description(
      'write one self-contained HTML file for a non-specialist reader: what was certified, what the guarantee means, ' +
        'results with intervals, curves, per-class results, the verify checks and the signer, technical-file fields',
    )
    .argument('<log...>', 'certification logs (their manifests beside them)')
    .requiredOption('--out <report.html>', 'HTML file to write')
    .option('--key <public.pem>', "check each log's attestation (<log>.intoto.json) against this public key")
    .option('--quiet', 'print nothing but errors', false)
    .action(async (logs: string[], opts: { out: string; key?: string; quiet: boolean }) => {
      const r = await writeReport({ logs, out: opts.out, key: opts.key });
      if (!opts.quiet)
        streams.stderr.write(
          `wrote ${r.out}${r.ok ? '' : ' (a verify check failed: the report says which)'}\n`,
        );
    });
}
