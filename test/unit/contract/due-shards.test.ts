/**
 * Shard selection of the byDue index (contract/due-shards.ts): stable (a record's shard
 * never changes between versions, or readers would look in the wrong place), in range,
 * uniform enough that no shard takes much more than its share, and the count derived
 * from the configured peak.
 */
import fc from 'fast-check';
import {
  DUE_BASE,
  familyValues,
  indexShardsFor,
  MAX_INDEX_SHARDS,
  PARTITION_WRITE_UNITS_PER_SECOND,
  shardOf,
  shardValue,
  shardValueOf,
} from '../../../contract/due-shards';
import { SETTINGS } from '../../../contract/settings';
import { EXECUTION_ARN } from '../helpers';

const executionArn = fc
  .tuple(
    fc.constantFrom('us-east-1', 'eu-west-1', 'ap-southeast-2'),
    fc.stringMatching(/^\d{12}$/),
    fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/),
    fc.oneof(fc.uuid(), fc.stringMatching(/^[A-Za-z0-9_-]{1,80}$/)),
  )
  .map(([region, account, machine, name]) => `arn:aws:states:${region}:${account}:execution:${machine}:${name}`);

describe('shardOf', () => {
  test('pinned: SHA-256 of the ARN mod the count (a change would strand every sharded record)', () => {
    expect([1, 2, 16, 27, 128].map((n) => shardOf(EXECUTION_ARN, n))).toEqual([0, 0, 6, 17, 22]);
    expect(shardValueOf(DUE_BASE, EXECUTION_ARN, 16)).toBe('DUE#6');
  });

  test('stable and in range for any ARN and count', () => {
    fc.assert(
      fc.property(executionArn, fc.integer({ min: 1, max: MAX_INDEX_SHARDS }), (arn, n) => {
        const k = shardOf(arn, n);
        expect(Number.isInteger(k) && k >= 0 && k < n).toBe(true);
        expect(shardOf(arn, n)).toBe(k);
        expect(shardValueOf('HELD#sm#err', arn, n)).toBe(`HELD#sm#err#${k}`);
      }),
      { numRuns: 500, seed: 13 },
    );
  });

  test('uniform enough over generated ARNs: every shard within 6 standard deviations of its share', () => {
    fc.assert(
      fc.property(fc.uniqueArray(executionArn, { minLength: 2000, maxLength: 2000 }), fc.integer({ min: 2, max: 32 }), (arns, n) => {
        const counts = new Array<number>(n).fill(0);
        for (const arn of arns) counts[shardOf(arn, n)]++;
        const mean = arns.length / n;
        const sd = Math.sqrt(arns.length * (1 / n) * (1 - 1 / n));
        for (const c of counts) expect(Math.abs(c - mean)).toBeLessThanOrEqual(6 * sd);
      }),
      { numRuns: 10, seed: 21 },
    );
  });

  test('sequential execution names (run-0, run-1, ...) spread evenly too: 16,000 over 16 shards, each within 10% of 1,000', () => {
    const counts = new Array<number>(16).fill(0);
    for (let i = 0; i < 16_000; i++) counts[shardOf(`arn:aws:states:us-east-1:123456789012:execution:orders:run-${i}`, 16)]++;
    for (const c of counts) expect(c).toBeGreaterThanOrEqual(900);
    for (const c of counts) expect(c).toBeLessThanOrEqual(1100);
  });

  test('a bad count is refused', () => {
    expect(() => shardOf(EXECUTION_ARN, 0)).toThrow(/shards must be a positive integer, got 0/);
    expect(() => shardOf(EXECUTION_ARN, 1.5)).toThrow(RangeError);
  });
});

describe('indexShardsFor: the shard count from the configured peak', () => {
  test('ceil(peak × 8 / 500), between 1 and the maximum', () => {
    expect(indexShardsFor(1)).toBe(1);
    expect(indexShardsFor(62.5)).toBe(1);
    expect(indexShardsFor(63)).toBe(2);
    expect(indexShardsFor(SETTINGS.peakFailuresPerSecond.default)).toBe(16);
    expect(indexShardsFor(100_000 / 60)).toBe(27); // the storm benchmark: 100,000 failures in 60 s
    expect(indexShardsFor(SETTINGS.peakFailuresPerSecond.range.max)).toBe(MAX_INDEX_SHARDS);
    expect(indexShardsFor(1e9)).toBe(MAX_INDEX_SHARDS);
  });

  test('at any peak in range, each shard is planned at no more than half the per-partition limit', () => {
    fc.assert(
      fc.property(fc.double({ min: 1, max: SETTINGS.peakFailuresPerSecond.range.max, noNaN: true }), (peak) => {
        const perShard = (peak * 8) / indexShardsFor(peak);
        expect(perShard).toBeLessThanOrEqual(PARTITION_WRITE_UNITS_PER_SECOND / 2 + 1e-9);
      }),
      { numRuns: 2000, seed: 5 },
    );
  });
});

test('familyValues: the legacy unsharded value first, then every shard', () => {
  expect(familyValues(DUE_BASE, 3)).toEqual(['DUE', 'DUE#0', 'DUE#1', 'DUE#2']);
  expect(familyValues('HELD-EXHAUSTED', 1)).toEqual(['HELD-EXHAUSTED', shardValue('HELD-EXHAUSTED', 0)]);
});
