import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import { itemFromDynamo } from '../../../lambda/policy/policy-source';
import {
  BREAKER_DEFAULTS,
  DEFAULT_NON_RETRYABLE_ERRORS,
  InvalidPolicyError,
  MAX_DELAY_LIMIT_SECONDS,
  parsePolicyItem,
  policyToItem,
  POLICY_DEFAULTS,
  type RedrivePolicy,
} from '../../../contract/policy-schema';
import { STATE_MACHINE_ARN } from '../helpers';

function valid(item: unknown): RedrivePolicy {
  const r = parsePolicyItem(item);
  if (!r.ok) throw new Error(`expected a valid policy, got: ${r.error.message}`);
  return r.policy;
}
function invalid(item: unknown): InvalidPolicyError {
  const r = parsePolicyItem(item);
  if (r.ok) throw new Error(`expected an invalid policy, got ${JSON.stringify(r.policy)}`);
  expect(r.error).toBeInstanceOf(InvalidPolicyError);
  expect(r.error.name).toBe('InvalidPolicyError');
  return r.error;
}
const fieldsOf = (e: InvalidPolicyError) => e.issues.map((i) => i.field);
const with_ = (extra: Record<string, unknown>) => ({ stateMachine: STATE_MACHINE_ARN, ...extra });

describe('parsePolicyItem: defaults', () => {
  it('applies every default to a key-only item', () => {
    expect(valid({ stateMachine: '*' })).toEqual({
      key: '*',
      enabled: true,
      maxRedrives: 3,
      intervalSeconds: 60,
      backoffRate: 2,
      maxDelaySeconds: 3600,
      jitter: 'FULL',
      errorEquals: ['States.ALL'],
      nonRetryableErrors: DEFAULT_NON_RETRYABLE_ERRORS,
      statuses: ['FAILED', 'TIMED_OUT'],
      dryRun: false,
      description: undefined,
      // The outage breaker is on by default (docs/breaker.md).
      onExhausted: 'skip',
      holdMarginHours: 24,
      breaker: { enabled: true, threshold: 20, redriveFailureThreshold: 2, windowSeconds: 300, probeIntervalSeconds: 30, maxProbeIntervalSeconds: 240, probeTimeoutSeconds: 900 },
      approval: false,
    });
  });

  it('defaults watch FAILED and TIMED_OUT but not ABORTED', () => {
    expect(POLICY_DEFAULTS.statuses).not.toContain('ABORTED');
  });

  it('default non-retryable errors include the input-determined States errors', () => {
    for (const e of ['States.Runtime', 'States.DataLimitExceeded', 'States.NoChoiceMatched', 'States.QueryEvaluationError']) {
      expect(DEFAULT_NON_RETRYABLE_ERRORS).toContain(e);
    }
    expect(DEFAULT_NON_RETRYABLE_ERRORS).not.toContain('States.Timeout');
    expect(DEFAULT_NON_RETRYABLE_ERRORS).not.toContain('States.TaskFailed');
  });

  it('keeps the description and the informational attributes', () => {
    const p = valid(with_({ description: 'nightly ETL', updatedAt: '2024-01-01T00:00:00Z', updatedBy: 'alice' }));
    expect(p.description).toBe('nightly ETL');
    expect(p).not.toHaveProperty('updatedAt');
  });

  it('rejects a key with surrounding spaces (it would never match the stored key)', () => {
    const e = invalid({ stateMachine: '  *  ' });
    expect(e.issues).toEqual([{ field: 'stateMachine', message: 'must not start or end with spaces' }]);
  });
});

describe('parsePolicyItem: numbers', () => {
  const numericFields: Array<[string, number, number]> = [
    ['maxRedrives', 0, 1000],
    ['intervalSeconds', 0, MAX_DELAY_LIMIT_SECONDS],
    ['maxDelaySeconds', 1, MAX_DELAY_LIMIT_SECONDS],
  ];

  describe.each(numericFields)('%s (%d..%d, whole)', (field, min, max) => {
    it.each([min, max, Math.floor((min + max) / 2)])('accepts %d', (n) => {
      expect(valid(with_({ [field]: n }))[field as keyof RedrivePolicy]).toBe(n);
    });
    it('accepts the number typed as a string, with spaces and a ".0"', () => {
      expect(valid(with_({ [field]: String(max) }))[field as keyof RedrivePolicy]).toBe(max);
      expect(valid(with_({ [field]: ` ${min + 1} ` }))[field as keyof RedrivePolicy]).toBe(min + 1);
      expect(valid(with_({ [field]: `${min + 1}.0` }))[field as keyof RedrivePolicy]).toBe(min + 1);
    });
    it.each<[string, unknown]>([
      ['below the range', min - 1],
      ['above the range', max + 1],
      ['a fraction', min + 0.5],
      ['huge 1e30', 1e30],
      ['-1e30', -1e30],
      ['NaN', NaN],
      ['Infinity', Infinity],
      ['-Infinity', -Infinity],
      ['"3x"', '3x'],
      ['""', ''],
      ['"three"', 'three'],
      ['"1e3" (exponent strings are ambiguous)', '1e3'],
      ['"0x10"', '0x10'],
      ['" "', ' '],
      ['a boolean', true],
      ['null', null],
      ['a list', [3]],
      ['an object', { N: '3' }],
    ])('rejects %s', (_label, v) => {
      const err = invalid(with_({ [field]: v }));
      expect(fieldsOf(err)).toContain(field);
      expect(new Set(fieldsOf(err))).toEqual(new Set([field]));
      expect(err.message).toContain(`policy '${STATE_MACHINE_ARN}' is invalid`);
      expect(err.message).toContain(`${field}:`);
    });
  });

  it('maxRedrives: 3 typed as "3" gives the number 3', () => {
    expect(valid(with_({ maxRedrives: '3' })).maxRedrives).toBe(3);
  });

  it('intervalSeconds "-0" is accepted as zero', () => {
    expect(valid(with_({ intervalSeconds: '-0' })).intervalSeconds === 0).toBe(true);
  });

  describe('backoffRate (1.0..100, fractions allowed)', () => {
    it.each([1, 1.5, 2, 100, '1.25', ' 3 '])('accepts %p', (v) => {
      expect(valid(with_({ backoffRate: v })).backoffRate).toBe(Number(v));
    });
    it.each<[string, unknown]>([
      ['below 1', 0.99],
      ['0', 0],
      ['negative', -2],
      ['above 100', 100.01],
      ['1e30', 1e30],
      ['NaN', NaN],
      ['Infinity', Infinity],
      ['"2x"', '2x'],
      ['""', ''],
      ['".5"', '.5'],
    ])('rejects %s', (_label, v) => {
      expect(fieldsOf(invalid(with_({ backoffRate: v })))).toEqual(['backoffRate']);
    });
  });
});

describe('parsePolicyItem: booleans', () => {
  describe.each(['enabled', 'dryRun'])('%s', (field) => {
    it.each<[unknown, boolean]>([
      [true, true],
      [false, false],
      ['true', true],
      ['TRUE', true],
      ['True', true],
      [' false ', false],
      ['FALSE', false],
    ])('accepts %p as %p', (v, expected) => {
      expect(valid(with_({ [field]: v }))[field as keyof RedrivePolicy]).toBe(expected);
    });
    it.each<unknown>(['yes', 'no', '1', '0', 1, 0, '', null, 'truee', ['true']])('rejects %p', (v) => {
      const err = invalid(with_({ [field]: v }));
      expect(err.issues).toEqual([{ field, message: 'must be true or false' }]);
    });
  });
});

describe('parsePolicyItem: jitter', () => {
  it.each<[unknown, string]>([
    ['FULL', 'FULL'],
    ['NONE', 'NONE'],
    ['full', 'FULL'],
    ['none', 'NONE'],
    [' Full ', 'FULL'],
  ])('accepts %p as %s', (v, expected) => {
    expect(valid(with_({ jitter: v })).jitter).toBe(expected);
  });
  it.each<unknown>(['HALF', 'EQUAL', '', 'FULLY', null, 1, true])('rejects %p', (v) => {
    expect(invalid(with_({ jitter: v })).issues).toEqual([{ field: 'jitter', message: 'must be FULL or NONE' }]);
  });
});

describe('parsePolicyItem: error lists', () => {
  describe.each(['errorEquals', 'nonRetryableErrors'])('%s', (field) => {
    it.each<[unknown, string[]]>([
      [['Lambda.AWSLambdaException'], ['Lambda.AWSLambdaException']],
      [['Lambda.*'], ['Lambda.*']],
      [['States.Timeout', 'States.TaskFailed', 'Custom-Error_1', 'ns:err'], ['States.Timeout', 'States.TaskFailed', 'Custom-Error_1', 'ns:err']],
      [[' States.Timeout '], ['States.Timeout']],
      [new Set(['Lambda.*', 'States.Timeout']), ['Lambda.*', 'States.Timeout']],
      [['*'], ['*']],
      [['States.ALL'], ['States.ALL']],
    ])('accepts %p', (v, expected) => {
      expect(valid(with_({ [field]: v }))[field as keyof RedrivePolicy]).toEqual(expected);
    });
    it.each<[string, unknown]>([
      ['a name with a space', ['bad name']],
      ['a glob without the dot', ['Lambda*']],
      ['a star in the middle', ['Lambda.*.Foo']],
      ['a leading star', ['*.Timeout']],
      ['regex syntax', ['Lambda.(a|b)']],
      ['an empty entry', ['']],
      ['a blank entry', ['   ']],
      ['a non-string entry', [42]],
      ['a plain string', 'States.ALL'],
      ['an object', { 0: 'States.ALL' }],
      ['null', null],
    ])('rejects %s', (_label, v) => {
      const err = invalid(with_({ [field]: v }));
      expect(err.issues.length).toBeGreaterThan(0);
      for (const f of fieldsOf(err)) expect(f.split('.')[0]).toBe(field);
    });
    it('names the bad entry in the message', () => {
      expect(invalid(with_({ [field]: ['Good.One', 'bad name'] })).message).toContain("'bad name'");
    });
  });

  it('errorEquals must not be empty; nonRetryableErrors may be', () => {
    expect(fieldsOf(invalid(with_({ errorEquals: [] })))).toEqual(['errorEquals']);
    expect(fieldsOf(invalid(with_({ errorEquals: new Set() })))).toEqual(['errorEquals']);
    expect(valid(with_({ nonRetryableErrors: [] })).nonRetryableErrors).toEqual([]);
  });

  it('States.ALL must appear alone in errorEquals', () => {
    const err = invalid(with_({ errorEquals: ['States.ALL', 'Lambda.*'] }));
    expect(err.issues).toEqual([{ field: 'errorEquals', message: 'States.ALL must appear alone, as in the States Language' }]);
    expect(fieldsOf(invalid(with_({ errorEquals: ['Lambda.*', 'States.ALL'] })))).toEqual(['errorEquals']);
  });
});

describe('parsePolicyItem: statuses', () => {
  it.each<[unknown, string[]]>([
    [['FAILED'], ['FAILED']],
    [['ABORTED'], ['ABORTED']],
    [['FAILED', 'TIMED_OUT', 'ABORTED'], ['FAILED', 'TIMED_OUT', 'ABORTED']],
    [new Set(['TIMED_OUT']), ['TIMED_OUT']],
  ])('accepts %p', (v, expected) => {
    expect(valid(with_({ statuses: v })).statuses).toEqual(expected);
  });
  it.each<[string, unknown]>([
    ['RUNNING', ['RUNNING']],
    ['SUCCEEDED', ['SUCCEEDED']],
    ['PENDING_REDRIVE', ['PENDING_REDRIVE']],
    ['lower case', ['failed']],
    ['unknown', ['EXPLODED']],
    ['empty', []],
    ['a string', 'FAILED'],
    ['numbers (NS)', new Set([1])],
  ])('rejects %s', (_label, v) => {
    for (const f of fieldsOf(invalid(with_({ statuses: v })))) expect(f.split('.')[0]).toBe('statuses');
  });
});

describe('parsePolicyItem: key, unknown attributes, whole-item problems', () => {
  it.each<[string, unknown]>([
    ['missing', {}],
    ['empty', { stateMachine: '' }],
    ['blank', { stateMachine: '   ' }],
    ['a number', { stateMachine: 7 }],
  ])('rejects a %s stateMachine key', (_label, item) => {
    expect(fieldsOf(invalid(item))).toContain('stateMachine');
  });

  it('an item without a key is named (no stateMachine key)', () => {
    expect(invalid({ maxRedrives: 3 }).policyKey).toBe('(no stateMachine key)');
  });

  it.each<unknown>([null, undefined, 'x', 3, []])('rejects a non-object item %p', (item) => {
    const err = invalid(item);
    expect(err.policyKey).toBe('(no stateMachine key)');
    expect(fieldsOf(err)).toEqual(['(item)']);
  });

  it('rejects the typo maxRedrive, naming the attribute', () => {
    const err = invalid(with_({ maxRedrive: 5 }));
    expect(err.issues).toEqual([{ field: 'maxRedrive', message: 'unknown attribute (check the spelling against docs/policies.md)' }]);
    expect(err.message).toContain('maxRedrive');
  });

  it('rejects several unknown attributes and the other bad fields together', () => {
    const err = invalid(with_({ maxRedrive: 5, ErrorEquals: ['x'], backoffRate: 0.5 }));
    const joined = fieldsOf(err).join(' | ');
    expect(joined).toContain('maxRedrive');
    expect(joined).toContain('ErrorEquals');
    expect(joined).toContain('backoffRate');
  });

  it('InvalidPolicyError names the key and every invalid field', () => {
    const err = invalid(
      with_({
        enabled: 'yes',
        maxRedrives: 5000,
        intervalSeconds: -1,
        backoffRate: 0,
        maxDelaySeconds: 0,
        jitter: 'HALF',
        errorEquals: [],
        nonRetryableErrors: ['bad name'],
        statuses: ['RUNNING'],
        dryRun: 'maybe',
        description: 'd'.repeat(1025),
      }),
    );
    expect(err.policyKey).toBe(STATE_MACHINE_ARN);
    const roots = new Set(fieldsOf(err).map((f) => f.split('.')[0]));
    expect(roots).toEqual(
      new Set(['enabled', 'maxRedrives', 'intervalSeconds', 'backoffRate', 'maxDelaySeconds', 'jitter', 'errorEquals', 'nonRetryableErrors', 'statuses', 'dryRun', 'description']),
    );
    for (const r of roots) expect(err.message).toContain(r);
    expect(err.message.startsWith(`policy '${STATE_MACHINE_ARN}' is invalid: `)).toBe(true);
  });

  it('rejects a description that is not a string or is too long', () => {
    expect(fieldsOf(invalid(with_({ description: 5 })))).toEqual(['description']);
    expect(fieldsOf(invalid(with_({ description: 'x'.repeat(1025) })))).toEqual(['description']);
    expect(valid(with_({ description: 'x'.repeat(1024) })).description).toHaveLength(1024);
  });
});

describe('policyToItem', () => {
  it('round-trips a full policy through parsePolicyItem', () => {
    const p = valid(
      with_({ enabled: false, maxRedrives: 7, intervalSeconds: 5, backoffRate: 1.5, maxDelaySeconds: 600, jitter: 'none', errorEquals: ['Lambda.*'], nonRetryableErrors: [], statuses: ['ABORTED'], dryRun: true, description: 'd' }),
    );
    expect(valid(policyToItem(p))).toEqual(p);
  });
  it('omits an absent description and round-trips the defaults', () => {
    const p = valid({ stateMachine: '*' });
    const item = policyToItem(p);
    expect(item).not.toHaveProperty('description');
    expect(valid(item)).toEqual(p);
  });
  it('returns copies of the lists', () => {
    const p = valid({ stateMachine: '*' });
    const item = policyToItem(p);
    (item.errorEquals as string[]).push('X');
    expect(p.errorEquals).toEqual(['States.ALL']);
    expect(POLICY_DEFAULTS.errorEquals).toEqual(['States.ALL']);
  });

  const errorName = fc.oneof(
    fc.constantFrom('States.Timeout', 'States.TaskFailed', 'Lambda.*', 'States.Runtime', 'Custom.Error', 'ns:e-1_x'),
    fc.stringMatching(/^[A-Za-z0-9_]{1,12}(\.[A-Za-z0-9_]{1,12})?(\.\*)?$/),
  );
  const arbPolicyItem = fc.record(
    {
      stateMachine: fc.oneof(fc.constant('*'), fc.constant(STATE_MACHINE_ARN), fc.constant('arn:aws:states:*:123456789012:stateMachine:etl-*')),
      enabled: fc.boolean(),
      maxRedrives: fc.integer({ min: 0, max: 1000 }),
      intervalSeconds: fc.integer({ min: 0, max: MAX_DELAY_LIMIT_SECONDS }),
      backoffRate: fc.double({ min: 1, max: 100, noNaN: true }),
      maxDelaySeconds: fc.integer({ min: 1, max: MAX_DELAY_LIMIT_SECONDS }),
      jitter: fc.constantFrom('FULL', 'NONE', 'full', 'none'),
      errorEquals: fc.oneof(fc.constant(['States.ALL']), fc.uniqueArray(errorName, { minLength: 1, maxLength: 4 })),
      nonRetryableErrors: fc.uniqueArray(errorName, { maxLength: 4 }),
      statuses: fc.uniqueArray(fc.constantFrom('FAILED', 'TIMED_OUT', 'ABORTED'), { minLength: 1, maxLength: 3 }),
      dryRun: fc.boolean(),
      description: fc.string({ maxLength: 50 }),
    },
    { requiredKeys: ['stateMachine'] },
  );

  it('property: every valid item parses and round-trips through policyToItem', () => {
    fc.assert(
      fc.property(arbPolicyItem, (item) => {
        const p = valid(item);
        expect(valid(policyToItem(p))).toEqual(p);
        expect(valid(JSON.parse(JSON.stringify(policyToItem(p))))).toEqual(p);
      }),
      { numRuns: 1000, seed: 20240601 },
    );
  });

  it('property: parsePolicyItem never throws, whatever the item', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.dictionary(fc.constantFrom('stateMachine', 'maxRedrives', 'enabled', 'jitter', 'errorEquals', 'statuses', 'backoffRate'), fc.anything())), (item) => {
        const r = parsePolicyItem(item);
        if (!r.ok) expect(r.error.issues.length).toBeGreaterThan(0);
      }),
      { numRuns: 1000, seed: 7 },
    );
  });
});

describe('itemFromDynamo (raw AttributeValue maps)', () => {
  const key = { stateMachine: { S: STATE_MACHINE_ARN } };

  it('converts N, S, BOOL, L, SS into a valid policy', () => {
    const raw: Record<string, AttributeValue> = {
      ...key,
      enabled: { BOOL: true },
      dryRun: { S: 'TRUE' },
      maxRedrives: { N: '5' },
      intervalSeconds: { S: '30' },
      backoffRate: { N: '1.5' },
      maxDelaySeconds: { N: '900' },
      jitter: { S: 'none' },
      errorEquals: { L: [{ S: 'Lambda.*' }, { S: 'States.Timeout' }] },
      nonRetryableErrors: { SS: ['States.Runtime', 'Custom.Fatal'] },
      statuses: { SS: ['FAILED', 'ABORTED'] },
      description: { S: 'from the console' },
      onExhausted: { S: 'HOLD' },
      holdMarginHours: { N: '48' },
      breaker: { M: { enabled: { BOOL: false }, threshold: { N: '10' }, windowSeconds: { S: '120' } } },
    };
    const item = itemFromDynamo(raw);
    expect(item.nonRetryableErrors).toBeInstanceOf(Set);
    expect(valid(item)).toEqual({
      key: STATE_MACHINE_ARN,
      enabled: true,
      dryRun: true,
      maxRedrives: 5,
      intervalSeconds: 30,
      backoffRate: 1.5,
      maxDelaySeconds: 900,
      jitter: 'NONE',
      errorEquals: ['Lambda.*', 'States.Timeout'],
      nonRetryableErrors: ['States.Runtime', 'Custom.Fatal'],
      statuses: ['FAILED', 'ABORTED'],
      description: 'from the console',
      onExhausted: 'hold',
      holdMarginHours: 48,
      breaker: { enabled: false, threshold: 10, redriveFailureThreshold: 2, windowSeconds: 120, probeIntervalSeconds: 30, maxProbeIntervalSeconds: 240, probeTimeoutSeconds: 900 },
      approval: false,
    });
  });

  it('a huge N ("1E+30") becomes a number the schema rejects with a field-level message', () => {
    const item = itemFromDynamo({ ...key, maxRedrives: { N: '1E+30' }, intervalSeconds: { N: '99999999999999999999' } });
    expect(item.maxRedrives).toBe(1e30);
    const err = invalid(item);
    expect(new Set(fieldsOf(err))).toEqual(new Set(['maxRedrives', 'intervalSeconds']));
  });

  it('an NS where strings are expected is rejected, not coerced', () => {
    const item = itemFromDynamo({ ...key, statuses: { NS: ['1', '2'] }, errorEquals: { NS: ['1'] } });
    const roots = new Set(fieldsOf(invalid(item)).map((f) => f.split('.')[0]));
    expect(roots).toEqual(new Set(['statuses', 'errorEquals']));
  });

  it('BOOL false, NULL and M attributes map to plain values', () => {
    const item = itemFromDynamo({ ...key, enabled: { BOOL: false }, description: { NULL: true }, extra: { M: { a: { N: '1' } } } });
    expect(item).toEqual({ stateMachine: STATE_MACHINE_ARN, enabled: false, description: null, extra: { a: 1 } });
    const err = invalid(item);
    expect(fieldsOf(err).join(',')).toContain('extra');
    expect(fieldsOf(err)).toContain('description');
  });

  it('an N attribute for a boolean is rejected', () => {
    expect(fieldsOf(invalid(itemFromDynamo({ ...key, enabled: { N: '1' } })))).toEqual(['enabled']);
  });
});

// ---- the outage breaker's fields (breaker.*, onExhausted, holdMarginHours) ----------------

describe('breaker fields', () => {
  test('an item without the fields (every item written before the breaker) has the breaker on, onExhausted skip, a 24 h margin', () => {
    expect(valid(with_({ maxRedrives: 2 }))).toMatchObject({ breaker: BREAKER_DEFAULTS, onExhausted: 'skip', holdMarginHours: 24 });
    expect(BREAKER_DEFAULTS).toEqual({ enabled: true, threshold: 20, redriveFailureThreshold: 2, windowSeconds: 300, probeIntervalSeconds: 30, maxProbeIntervalSeconds: 240, probeTimeoutSeconds: 900 });
  });

  test.each([
    ['{ enabled: false }', { enabled: false }, { ...BREAKER_DEFAULTS, enabled: false }],
    ['false (shorthand)', false, { ...BREAKER_DEFAULTS, enabled: false }],
    ['"false" (a string typed in the console)', 'false', { ...BREAKER_DEFAULTS, enabled: false }],
    ['true', true, BREAKER_DEFAULTS],
    ['{} (all defaults)', {}, BREAKER_DEFAULTS],
    ['a partial map', { threshold: '10', windowSeconds: 60 }, { ...BREAKER_DEFAULTS, threshold: 10, windowSeconds: 60 }],
    ['the redrive-failure threshold', { redriveFailureThreshold: 3 }, { ...BREAKER_DEFAULTS, redriveFailureThreshold: 3 }],
    ['a Map (unmarshalled M)', new Map<string, unknown>([['probeIntervalSeconds', 10]]), { ...BREAKER_DEFAULTS, probeIntervalSeconds: 10 }],
  ])('breaker: %s', (_label, breaker, expected) => {
    expect(valid(with_({ breaker })).breaker).toEqual(expected);
  });

  test('onExhausted and holdMarginHours accept their values in any case / as strings', () => {
    expect(valid(with_({ onExhausted: ' HOLD ', holdMarginHours: '72' }))).toMatchObject({ onExhausted: 'hold', holdMarginHours: 72 });
  });

  test.each([
    [{ breaker: { threshold: 1 } }, 'breaker.threshold', 'must be from 2 to 100000'],
    [{ breaker: { redriveFailureThreshold: 1 } }, 'breaker.redriveFailureThreshold', 'must be from 2 to 100000'],
    [{ breaker: { redriveFailureThreshold: 'two' } }, 'breaker.redriveFailureThreshold', 'must be a number'],
    [{ breaker: { threshold: 'five' } }, 'breaker.threshold', 'must be a number'],
    [{ breaker: { threshold: 5.5 } }, 'breaker.threshold', 'whole number'],
    [{ breaker: { windowSeconds: 5 } }, 'breaker.windowSeconds', 'must be from 10 to 86400'],
    [{ breaker: { probeIntervalSeconds: 0 } }, 'breaker.probeIntervalSeconds', 'must be from 1 to 86400'],
    [{ breaker: { maxProbeIntervalSeconds: 10 } }, 'breaker.maxProbeIntervalSeconds', 'must be at least probeIntervalSeconds (30)'],
    [{ breaker: { probeIntervalSeconds: 600 } }, 'breaker.probeIntervalSeconds', 'maxProbeIntervalSeconds (240) must be at least probeIntervalSeconds (600)'],
    [{ breaker: { probeTimeoutSeconds: 1 } }, 'breaker.probeTimeoutSeconds', 'must be from 10 to 86400'],
    [{ breaker: { enabled: 'off' } }, 'breaker.enabled', 'must be true or false'],
    [{ breaker: { enable: false } }, 'breaker.enable', 'unknown attribute'],
    [{ breaker: 'no' }, 'breaker', 'must be a map of breaker settings'],
    [{ breaker: ['enabled'] }, 'breaker', 'must be a map of breaker settings'],
    [{ breaker: null }, 'breaker', 'must be a map of breaker settings'],
    [{ onExhausted: 'park' }, 'onExhausted', 'must be skip or hold'],
    [{ holdMarginHours: 0 }, 'holdMarginHours', 'must be from 1 to 72'],
    [{ holdMarginHours: 100 }, 'holdMarginHours', 'must be from 1 to 72'],
  ])('%j is rejected, naming the item and %s', (extra, field, message) => {
    const e = invalid(with_(extra));
    expect(e.policyKey).toBe(STATE_MACHINE_ARN);
    expect(e.message).toContain(`policy '${STATE_MACHINE_ARN}' is invalid`);
    const issue = e.issues.find((i) => i.field === field);
    expect(issue).toBeDefined();
    expect(issue!.message).toContain(message);
  });

  test('policyToItem writes the effective breaker settings (what policy get shows), and they parse back the same', () => {
    const p = valid(with_({ breaker: { threshold: 7 }, onExhausted: 'hold' }));
    const written = policyToItem(p);
    expect(written).toMatchObject({ onExhausted: 'hold', holdMarginHours: 24, breaker: { ...BREAKER_DEFAULTS, threshold: 7 } });
    expect(valid(written)).toEqual(p);
  });
});

describe('approval (approval before redrive)', () => {
  it('a boolean, or "true" / "false" typed by hand; absent: false', () => {
    expect(valid({ stateMachine: '*', approval: true }).approval).toBe(true);
    expect(valid({ stateMachine: '*', approval: ' TRUE ' }).approval).toBe(true);
    expect(valid({ stateMachine: '*', approval: 'false' }).approval).toBe(false);
    expect(valid({ stateMachine: '*' }).approval).toBe(false);
  });
  it('"yes", a number or a list makes the item invalid, naming the field', () => {
    for (const v of ['yes', 1, ['true']]) {
      const err = invalid({ stateMachine: '*', approval: v });
      expect(fieldsOf(err)).toEqual(['approval']);
      expect(err.message).toBe("policy '*' is invalid: approval: must be true or false");
    }
  });
  it('policyToItem writes it back', () => {
    expect(policyToItem(valid({ stateMachine: '*', approval: true }))).toMatchObject({ approval: true });
  });
});

describe('maxRedrivesPerHour (the redrive budget)', () => {
  test('absent (every item written before the budget): no budget', () => {
    expect(valid(with_({})).maxRedrivesPerHour).toBeUndefined();
    expect(policyToItem(valid(with_({})))).not.toHaveProperty('maxRedrivesPerHour');
  });

  test('a positive whole number, also typed as a string; policyToItem writes it and it parses back the same', () => {
    expect(valid(with_({ maxRedrivesPerHour: 12 })).maxRedrivesPerHour).toBe(12);
    expect(valid(with_({ maxRedrivesPerHour: '12' })).maxRedrivesPerHour).toBe(12);
    const p = valid(with_({ maxRedrivesPerHour: 100_000 }));
    expect(valid(policyToItem(p))).toEqual(p);
  });

  test.each([
    [-1, 'must be from 1 to'],
    [0, 'must be from 1 to'],
    [1.5, 'must be a whole number'],
    ['many', 'must be a number'],
    [true, 'must be a number'],
  ])('%p is invalid, naming the item and the field', (value, message) => {
    const e = invalid(with_({ maxRedrivesPerHour: value }));
    expect(fieldsOf(e)).toEqual(['maxRedrivesPerHour']);
    expect(e.message).toContain(`policy '${STATE_MACHINE_ARN}' is invalid: maxRedrivesPerHour: ${message}`);
  });
});

describe('parsePolicyItem: neverAtStates / onlyAtStates', () => {
  it('absent: the policy is not state-scoped (older items stay as they were)', () => {
    const p = valid(with_({}));
    expect(p.neverAtStates).toBeUndefined();
    expect(p.onlyAtStates).toBeUndefined();
    expect(policyToItem(p)).not.toHaveProperty('neverAtStates');
  });

  it.each([
    [['ChargeCard', 'Send*'], ['ChargeCard', 'Send*']],
    [new Set(['ChargeCard']), ['ChargeCard']], // a String Set typed in the DynamoDB console
    [[' Charge Card '], ['Charge Card']],
  ])('%j is read as %j and round-trips', (value, expected) => {
    const p = valid(with_({ neverAtStates: value, onlyAtStates: value }));
    expect(p.neverAtStates).toEqual(expected);
    expect(p.onlyAtStates).toEqual(expected);
    expect(valid(policyToItem(p))).toEqual(p);
  });

  it('an empty neverAtStates excludes nothing; an empty onlyAtStates is refused (it would redrive nothing)', () => {
    expect(valid(with_({ neverAtStates: [] })).neverAtStates).toBeUndefined();
    expect(invalid(with_({ onlyAtStates: [] })).issues).toEqual([{ field: 'onlyAtStates', message: expect.stringContaining('at least one state') }]);
  });

  it.each([
    [{ neverAtStates: 'ChargeCard' }, 'neverAtStates', 'must be a list of strings'],
    [{ neverAtStates: [3] }, 'neverAtStates.0', 'every entry must be a string'],
    [{ onlyAtStates: [''] }, 'onlyAtStates.0', 'entries must not be empty'],
    [{ onlyAtStates: { Charge: true } }, 'onlyAtStates', 'must be a list of strings'],
    [{ neverAtStates: ['x'.repeat(300)] }, 'neverAtStates', 'longer than a state name'],
  ])('%j is rejected, naming the item and %s', (extra, field, message) => {
    const e = invalid(with_(extra));
    expect(e.message).toContain(`policy '${STATE_MACHINE_ARN}' is invalid`);
    expect(e.issues.find((i) => i.field === field)?.message).toContain(message);
  });
});
