import fc from 'fast-check';
import { errorMatches, firstMatch, STATES_ALL } from '../../../lambda/decide/error-match';

describe('errorMatches', () => {
  /** Per pattern: the error names it matches, and near misses it must not match. */
  const CASES: Array<[pattern: string, matches: (string | null)[], misses: (string | null)[]]> = [
    ['States.ALL', ['Lambda.AWSLambdaException', null], []],
    ['*', ['anything', null], []],
    ['Lambda.*', ['Lambda.AWSLambdaException', 'Lambda.'], ['Lambda', 'LambdaX.Error', 'lambda.AWSLambdaException', 'MyLambda.Error', null]],
    ['States.*', ['States.Timeout'], []],
    ['States.Timeout', ['States.Timeout'], ['States.TimeoutX', 'states.timeout', null]],
    ['Lambda.AWSLambdaException', ['Lambda.AWSLambdaException'], []],
    ['a.b.*', ['a.b.c.d'], ['a.bc']],
  ];
  const rows = CASES.flatMap(([pattern, matches, misses]) => [
    ...matches.map((name) => [pattern, name, true] as const),
    ...misses.map((name) => [pattern, name, false] as const),
  ]);
  it.each(rows)('%s vs %p -> %s', (pattern, name, expected) => {
    expect(errorMatches(pattern, name)).toBe(expected);
  });

  it('property: exact names match only themselves; States.ALL matches everything', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9_.]{1,20}$/), fc.option(fc.string(), { nil: null }), (pattern, name) => {
        fc.pre(!pattern.endsWith('.*') && pattern !== STATES_ALL);
        expect(errorMatches(pattern, name)).toBe(pattern === name);
        expect(errorMatches(STATES_ALL, name)).toBe(true);
      }),
      { numRuns: 1000, seed: 11 },
    );
  });
});

describe('firstMatch', () => {
  it('returns the first matching pattern in list order', () => {
    expect(firstMatch(['X', 'Lambda.*', 'States.ALL'], 'Lambda.E')).toBe('Lambda.*');
    expect(firstMatch(['States.ALL', 'Lambda.*'], 'Lambda.E')).toBe('States.ALL');
  });
  it('undefined when nothing matches or the list is empty', () => {
    expect(firstMatch([], 'x')).toBeUndefined();
    expect(firstMatch(['A', 'B.*'], 'C')).toBeUndefined();
    expect(firstMatch(['A', 'B.*'], null)).toBeUndefined();
  });
  it('a null error only matches the catch-alls', () => {
    expect(firstMatch(['Lambda.*', '*'], null)).toBe('*');
  });
});
