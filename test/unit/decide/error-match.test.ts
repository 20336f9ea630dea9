import fc from 'fast-check';
import { errorMatches, firstMatch, STATES_ALL } from '../../../lambda/decide/error-match';

describe('errorMatches', () => {
  it.each<[string, string | null, boolean]>([
    ['States.ALL', 'Lambda.AWSLambdaException', true],
    ['States.ALL', null, true],
    ['*', 'anything', true],
    ['*', null, true],
    ['Lambda.*', 'Lambda.AWSLambdaException', true],
    ['Lambda.*', 'Lambda.', true],
    ['Lambda.*', 'Lambda', false],
    ['Lambda.*', 'LambdaX.Error', false],
    ['Lambda.*', 'lambda.AWSLambdaException', false],
    ['Lambda.*', 'MyLambda.Error', false],
    ['Lambda.*', null, false],
    ['States.*', 'States.Timeout', true],
    ['States.Timeout', 'States.Timeout', true],
    ['States.Timeout', 'States.TimeoutX', false],
    ['States.Timeout', 'states.timeout', false],
    ['States.Timeout', null, false],
    ['Lambda.AWSLambdaException', 'Lambda.AWSLambdaException', true],
    ['a.b.*', 'a.b.c.d', true],
    ['a.b.*', 'a.bc', false],
  ])('%s vs %p -> %s', (pattern, name, expected) => {
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
