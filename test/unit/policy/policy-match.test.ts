import fc from 'fast-check';
import { DEFAULT_POLICY_KEY, keyMatches, selectPolicyKey } from '../../../lambda/policy/policy-match';
import { resolvePolicy, type PolicySnapshot } from '../../../lambda/policy/policy-source';
import { InvalidPolicyError, parsePolicyItem, type PolicyParseResult } from '../../../contract/policy-schema';
import { STATE_MACHINE_ARN } from '../helpers';

const ARN = STATE_MACHINE_ARN; // arn:aws:states:us-east-1:123456789012:stateMachine:MyStateMachine-gddoyum7f
const PREFIX = 'arn:aws:states:us-east-1:123456789012:stateMachine:';

describe('keyMatches', () => {
  it.each<[string, string, boolean]>([
    ['*', ARN, true],
    ['*', '', true],
    [ARN, ARN, true],
    [ARN, `${ARN}2`, false],
    [ARN.toUpperCase(), ARN, false],
    [`${PREFIX}MyStateMachine-*`, ARN, true],
    [`${PREFIX}*`, ARN, true],
    [`*:stateMachine:MyStateMachine-gddoyum7f`, ARN, true],
    [`arn:aws:states:*:123456789012:stateMachine:My*`, ARN, true],
    [`arn:aws:states:*:999999999999:stateMachine:*`, ARN, false],
    [`${PREFIX}Other-*`, ARN, false],
    [`${PREFIX}MyStateMachine`, ARN, false], // exact key, not a prefix
    [`${PREFIX}*-gddoyum7f`, ARN, true],
    [`${PREFIX}**`, ARN, true],
    // regex metacharacters in the key are literal
    [`${PREFIX}My.tateMachine-*`, ARN, false],
    [`${PREFIX}a.b*`, `${PREFIX}a.b-1`, true],
    [`${PREFIX}a.b*`, `${PREFIX}axb-1`, false],
    [`${PREFIX}a+b*`, `${PREFIX}a+b-1`, true],
    [`${PREFIX}a+b*`, `${PREFIX}aab-1`, false],
    [`${PREFIX}(x|y)*`, `${PREFIX}(x|y)1`, true],
    [`${PREFIX}(x|y)*`, `${PREFIX}x1`, false],
    [`${PREFIX}[ab]*`, `${PREFIX}a1`, false],
    [`${PREFIX}[ab]*`, `${PREFIX}[ab]1`, true],
    [`${PREFIX}a?*`, `${PREFIX}a`, false],
    [`${PREFIX}a?*`, `${PREFIX}a?b`, true],
    [`${PREFIX}$^\\{}*`, `${PREFIX}$^\\{}z`, true],
    ['^arn*', ARN, false],
  ])('%s vs %s -> %s', (key, arn, expected) => {
    expect(keyMatches(key, arn)).toBe(expected);
  });
});

describe('keyMatches: glob semantics', () => {
  /** Reference: the glob as an (escaped) regular expression, `*` = any run of any characters. */
  const reference = (key: string, text: string) =>
    new RegExp(`^${key.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 's').test(text);

  it('property: agrees with a regular-expression reference on small alphabets', () => {
    const alpha = fc.constantFrom('a', 'b', '*', '.', ':', '\n');
    fc.assert(
      fc.property(fc.array(alpha, { maxLength: 10 }).map((a) => a.join('')), fc.array(fc.constantFrom('a', 'b', '.', ':', '*', '\n'), { maxLength: 14 }).map((a) => a.join('')), (key, text) => {
        expect(keyMatches(key, text)).toBe(key.includes('*') ? reference(key, text) : key === text);
      }),
      { numRuns: 3000, seed: 3 },
    );
  });

  it('property: a pattern built from pieces of the ARN matches it', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: ARN.length }), { maxLength: 6 }), (cuts) => {
        const sorted = [...cuts].sort((a, b) => a - b);
        let key = '';
        let last = 0;
        for (const c of sorted) {
          key += `${ARN.slice(last, c)}*`;
          last = c;
        }
        key += ARN.slice(last);
        expect(keyMatches(key, ARN)).toBe(true);
      }),
      { numRuns: 1000, seed: 4 },
    );
  });

  it('no catastrophic backtracking on a hostile hand-edited key', () => {
    const hostile = `${'*a'.repeat(12)}*b`;
    const arn = `${PREFIX}${'a'.repeat(60)}`;
    const started = Date.now();
    expect(keyMatches(hostile, arn)).toBe(false);
    expect(selectPolicyKey([hostile, '*'], arn)).toBe('*');
    expect(Date.now() - started).toBeLessThan(200);
  });
});

describe('selectPolicyKey', () => {
  it('no keys or no match -> undefined', () => {
    expect(selectPolicyKey([], ARN)).toBeUndefined();
    expect(selectPolicyKey([`${PREFIX}Other`, `${PREFIX}Other-*`], ARN)).toBeUndefined();
  });

  it('exact ARN beats any pattern and *', () => {
    expect(selectPolicyKey(['*', `${PREFIX}MyStateMachine-gddoyum7*`, ARN, `${PREFIX}*`], ARN)).toBe(ARN);
  });

  it('a pattern beats *', () => {
    expect(selectPolicyKey(['*', `${PREFIX}*`], ARN)).toBe(`${PREFIX}*`);
    expect(selectPolicyKey([DEFAULT_POLICY_KEY], ARN)).toBe('*');
  });

  it('the longest literal pattern wins', () => {
    const keys = [`${PREFIX}*`, `${PREFIX}My*`, `${PREFIX}MyStateMachine-*`, `*`, `*gddoyum7f`];
    expect(selectPolicyKey(keys, ARN)).toBe(`${PREFIX}MyStateMachine-*`);
  });

  it('counts literal characters, not the number of stars', () => {
    // 'arn:aws:states:*' has 15 literal chars; the second has 16 despite two stars.
    expect(selectPolicyKey(['arn:aws:states:*', '*states:us-east*'], ARN)).toBe('arn:aws:states:*');
    expect(selectPolicyKey(['arn:aws:sta*', '*:stateMachine:MyS*'], ARN)).toBe('*:stateMachine:MyS*');
  });

  it('ties break by key order, independent of iteration order', () => {
    const k1 = `${PREFIX}M*`; // literals: PREFIX + 'M'
    const k2 = `${PREFIX}*f`; // literals: PREFIX + 'f'
    expect(k1.replace('*', '').length).toBe(k2.replace('*', '').length);
    expect(k2 < k1).toBe(true);
    expect(selectPolicyKey([k1, k2], ARN)).toBe(k2);
    expect(selectPolicyKey([k2, k1], ARN)).toBe(k2);
    // one literal more wins over the tie
    expect(selectPolicyKey([k1, k2, `${PREFIX}My*`], ARN)).toBe(`${PREFIX}My*`);
  });

  it('property: the choice does not depend on key order', () => {
    const keyArb = fc.oneof(
      fc.constant('*'),
      fc.constant(ARN),
      fc.integer({ min: 0, max: ARN.length }).map((n) => `${ARN.slice(0, n)}*`),
      fc.integer({ min: 0, max: ARN.length }).map((n) => `*${ARN.slice(n)}`),
      fc.tuple(fc.integer({ min: 0, max: ARN.length }), fc.integer({ min: 0, max: ARN.length })).map(([i, j]) => `${ARN.slice(0, Math.min(i, j))}*${ARN.slice(Math.max(i, j))}`),
      fc.string({ maxLength: 10 }),
    );
    fc.assert(
      fc.property(fc.uniqueArray(keyArb, { maxLength: 8 }), fc.infiniteStream(fc.nat()), (keys, rnd) => {
        const shuffled = [...keys];
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = (rnd.next().value as number) % (i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
        }
        const chosen = selectPolicyKey(keys, ARN);
        expect(selectPolicyKey(shuffled, ARN)).toBe(chosen);
        if (chosen !== undefined) {
          expect(keyMatches(chosen, ARN)).toBe(true);
          if (keys.includes(ARN)) expect(chosen).toBe(ARN);
        } else {
          for (const k of keys) expect(keyMatches(k, ARN)).toBe(false);
        }
      }),
      { numRuns: 1000, seed: 99 },
    );
  });

  it('accepts any iterable (a Map key iterator)', () => {
    const m = new Map([
      ['*', 1],
      [ARN, 2],
    ]);
    expect(selectPolicyKey(m.keys(), ARN)).toBe(ARN);
  });
});

describe('resolvePolicy', () => {
  const parsed = (item: Record<string, unknown>): PolicyParseResult => parsePolicyItem(item);
  const snapshot = (entries: Array<[string, PolicyParseResult]>): PolicySnapshot => ({ policies: new Map(entries), pause: { paused: false }, loadedAt: 0 });

  it('none when nothing matches', () => {
    expect(resolvePolicy(snapshot([[`${PREFIX}Other`, parsed({ stateMachine: `${PREFIX}Other` })]]), ARN)).toEqual({ kind: 'none' });
    expect(resolvePolicy(snapshot([]), ARN)).toEqual({ kind: 'none' });
  });

  it('found: the most specific valid policy', () => {
    const r = resolvePolicy(
      snapshot([
        ['*', parsed({ stateMachine: '*', maxRedrives: 1 })],
        [ARN, parsed({ stateMachine: ARN, maxRedrives: 9 })],
      ]),
      ARN,
    );
    expect(r.kind).toBe('found');
    if (r.kind === 'found') expect(r.policy).toMatchObject({ key: ARN, maxRedrives: 9 });
  });

  it('invalid when the most specific key is invalid: never falls back to a broader policy', () => {
    const r = resolvePolicy(
      snapshot([
        ['*', parsed({ stateMachine: '*' })],
        [`${PREFIX}*`, parsed({ stateMachine: `${PREFIX}*` })],
        [ARN, parsed({ stateMachine: ARN, maxRedrive: 5 })],
      ]),
      ARN,
    );
    expect(r.kind).toBe('invalid');
    if (r.kind === 'invalid') {
      expect(r.key).toBe(ARN);
      expect(r.error).toBeInstanceOf(InvalidPolicyError);
      expect(r.error.issues.map((i) => i.field)).toEqual(['maxRedrive']);
    }
  });

  it('invalid pattern beats a valid *', () => {
    const r = resolvePolicy(
      snapshot([
        ['*', parsed({ stateMachine: '*' })],
        [`${PREFIX}My*`, parsed({ stateMachine: `${PREFIX}My*`, backoffRate: 0 })],
      ]),
      ARN,
    );
    expect(r).toMatchObject({ kind: 'invalid', key: `${PREFIX}My*` });
  });

  it('an invalid * does not affect a machine with its own valid policy', () => {
    const r = resolvePolicy(
      snapshot([
        ['*', parsed({ stateMachine: '*', jitter: 'HALF' })],
        [ARN, parsed({ stateMachine: ARN })],
      ]),
      ARN,
    );
    expect(r.kind).toBe('found');
    expect(resolvePolicy(snapshot([['*', parsed({ stateMachine: '*', jitter: 'HALF' })]]), `${PREFIX}Other`).kind).toBe('invalid');
  });
});
