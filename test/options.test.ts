/**
 * Options are checked once, by one schema: library errors name options in library terms, the CLI
 * renames them to its flags, defaults come from the schema, and the schema gives JSON Schema.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { flagName } from '../src/cli/program.js';
import { OptionsError } from '../src/core/params.js';
import { certifyVotes, predictVotes } from '../src/core/smooth.js';
import { UsageError } from '../src/core/errors.js';
import { defaultSmoothingOptions, parseSmoothingOptions, smoothingOptionsSchema } from '../src/options.js';
import { SmoothedClassifier } from '../src/smoothed-classifier.js';

const optionsError = (pattern: RegExp) => (e: unknown) =>
  e instanceof OptionsError &&
  e instanceof UsageError &&
  pattern.test(e.message) &&
  !e.message.includes('--');

describe('smoothing options', () => {
  it('defaults fill in what is not given', () => {
    assert.deepEqual(parseSmoothingOptions({ sigma: 0.5 }), { ...defaultSmoothingOptions, sigma: 0.5 });
    assert.equal(defaultSmoothingOptions.n, 100_000);
    assert.equal(defaultSmoothingOptions.adaptiveRadius, null);
  });

  it('each rule, in library terms', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ sigma: 0 }, /^sigma must be > 0, got 0$/],
      [{ sigma: Infinity }, /^sigma must be > 0, got Infinity$/],
      [{ alpha: 1 }, /^alpha must be in \(0, 1\), got 1$/],
      [{ n: 2.5 }, /^n must be a positive integer, got 2.5$/],
      [{ n0: 200, n: 100 }, /^n0 \(200\) must not exceed n \(100\)/],
      [{ batch: 0 }, /^batch must be a positive integer, got 0$/],
      [{ seed: -1 }, /^seed must be a non-negative integer, got -1$/],
      [{ adaptiveRadius: -0.1 }, /^adaptiveRadius must be a radius >= 0, got -0.1$/],
      [{ looks: 21 }, /^looks must be an integer in \[1, 20\], got 21$/],
      [{ method: 'median' }, /^method must be one of rs, max, mean, got "median"$/],
      [{ stride: 0 }, /^stride must be a positive integer, got 0$/],
      [{ resize: { height: 32 } }, /^resize.width must be a positive integer, got undefined$/],
      [{ randomPatches: true }, /^randomPatches needs maxPatches/],
      [{ sigmaa: 1 }, /^unknown option sigmaa$/],
    ];
    for (const [options, message] of cases) {
      assert.throws(() => parseSmoothingOptions(options), optionsError(message), JSON.stringify(options));
    }
  });

  it('every problem in one line', () => {
    assert.throws(
      () => parseSmoothingOptions({ sigma: -1, n: 0 }),
      optionsError(/^sigma must be > 0, got -1; n must be a positive integer, got 0$/),
    );
  });

  it('the CLI names its flags', () => {
    const e = (() => {
      try {
        parseSmoothingOptions({ maxPatches: 0, adaptiveRadius: -1, n0: 10, n: 5 });
      } catch (err) {
        return err as OptionsError;
      }
      throw new Error('no error');
    })();
    assert.equal(
      e.describe(flagName),
      '--max-patches must be a positive integer, got 0; --adaptive-radius must be a radius >= 0, got -1; ' +
        '--n0 (10) must not exceed --n (5): n0 only selects the class, n certifies it',
    );
    assert.equal(flagName('resize.height'), '--resize');
  });

  it('the SmoothedClassifier constructor and the bare CERTIFY / PREDICT check their options', async () => {
    const f = {
      inputShape: { channels: 1, height: 4, width: 4 },
      numClasses: 2,
      run: async () => new Float32Array(),
    };
    assert.throws(
      () => new SmoothedClassifier(f, f.inputShape, { ...defaultSmoothingOptions, sigma: -1 }),
      optionsError(/^sigma must be > 0/),
    );
    const votes = async (num: number) => Uint32Array.of(num, 0);
    await assert.rejects(
      certifyVotes(votes, { sigma: 1, n0: 0, n: 10, alpha: 0.01 }),
      optionsError(/^n0 must/),
    );
    await assert.rejects(predictVotes(votes, { n: 10, alpha: 0 }), optionsError(/^alpha must/));
  });

  it('JSON Schema for the service: types, bounds, defaults, no unknown keys', () => {
    const schema = z.toJSONSchema(smoothingOptionsSchema, { io: 'input' }) as {
      properties: Record<string, Record<string, unknown>>;
      additionalProperties: boolean;
    };
    assert.equal(schema.additionalProperties, false);
    assert.deepEqual(schema.properties.sigma, { default: 0.25, type: 'number', exclusiveMinimum: 0 });
    assert.deepEqual(schema.properties.method.enum, ['rs', 'max', 'mean']);
    assert.equal(schema.properties.n.type, 'integer');
    assert.equal(schema.properties.n.minimum, 1);
  });
});
