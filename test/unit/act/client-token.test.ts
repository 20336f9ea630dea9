import fc from 'fast-check';
import { redriveClientToken } from '../../../lambda/act/client-token';
import { EXECUTION_ARN } from '../helpers';

const TOKEN = /^[!-~]+$/; // RedriveExecution: 1-64 characters of [!-~]

describe('redriveClientToken', () => {
  it('is deterministic and within the API constraints for the real ARN', () => {
    const t = redriveClientToken(EXECUTION_ARN, 0);
    expect(redriveClientToken(EXECUTION_ARN, 0)).toBe(t);
    expect(t).toMatch(TOKEN);
    expect(t.length).toBeGreaterThanOrEqual(1);
    expect(t.length).toBeLessThanOrEqual(64);
    expect(t.startsWith('ar-0-')).toBe(true);
  });

  it('pins the format (a change would break idempotency across a deploy)', () => {
    expect(redriveClientToken(EXECUTION_ARN, 2)).toMatch(/^ar-2-[0-9a-f]{40}$/);
  });

  it('differs per redriveCount and per ARN', () => {
    const tokens = new Set<string>();
    for (let c = 0; c < 100; c++) tokens.add(redriveClientToken(EXECUTION_ARN, c));
    for (let i = 0; i < 100; i++) tokens.add(redriveClientToken(`${EXECUTION_ARN}${i}`, 0));
    expect(tokens.size).toBe(200);
  });

  it('no ambiguity between ARN and count (a\\n1 vs a + 1)', () => {
    expect(redriveClientToken('arn:x:1', 1)).not.toBe(redriveClientToken('arn:x', 11));
    expect(redriveClientToken('a1', 1)).not.toBe(redriveClientToken('a', 11));
  });

  it('property: deterministic, <= 64 chars of [!-~], for any ARN and any realistic count', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'grapheme', maxLength: 100 })), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (arn, count) => {
        const t = redriveClientToken(arn, count);
        expect(t).toMatch(TOKEN);
        expect(t.length).toBeLessThanOrEqual(64);
        expect(redriveClientToken(arn, count)).toBe(t);
      }),
      { numRuns: 1000, seed: 5 },
    );
  });

  it('property: distinct (arn, count) pairs give distinct tokens', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), fc.nat(1_000_000), fc.string({ maxLength: 80 }), fc.nat(1_000_000), (a1, c1, a2, c2) => {
        fc.pre(a1 !== a2 || c1 !== c2);
        expect(redriveClientToken(a1, c1)).not.toBe(redriveClientToken(a2, c2));
      }),
      { numRuns: 1000, seed: 6 },
    );
  });
});
