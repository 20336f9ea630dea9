/**
 * Policy items as a person types them: in a JSON file for `redrivectl policy put`, or in
 * the DynamoDB console (typed attribute values, numbers as strings, string sets, NULL).
 * Every field is absent, good (in one of the typings the README promises to accept) or
 * bad (a plausible mistake), and the generator knows which, so the test can say what
 * parsePolicyItem must do with the item.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import { MAX_DELAY_LIMIT_SECONDS } from '../../../contract/policy-schema';
import { FIELD_MARK, FIXTURE_MACHINE_ARN, PREFIX } from './arbitraries';

export interface FieldValue {
  readonly raw: unknown;
  /** The parsed value the policy must end up with (good values only). */
  readonly expected?: unknown;
}

interface FieldSpec {
  readonly good: fc.Arbitrary<FieldValue>;
  readonly bad: fc.Arbitrary<FieldValue>;
}

const bad = (...values: unknown[]) => fc.constantFrom(...values).map((raw) => ({ raw }));

/** Numbers the README accepts: a number, or the same number as a string ("3", " 3 ", "3.0"). */
const wholeNumber = (min: number, max: number): fc.Arbitrary<FieldValue> =>
  fc.integer({ min, max }).chain((n) =>
    fc.constantFrom<FieldValue>({ raw: n, expected: n }, { raw: String(n), expected: n }, { raw: ` ${n} `, expected: n }, { raw: `${n}.0`, expected: n }),
  );

const badWholeNumber = (min: number, max: number): fc.Arbitrary<FieldValue> =>
  fc.oneof(
    fc.integer({ min: min - 1_000_000, max: min - 1 }).map((raw) => ({ raw })),
    fc.integer({ min: max + 1, max: max + 1_000_000 }).map((raw) => ({ raw })),
    fc.double({ min, max, noNaN: true }).filter((d) => !Number.isInteger(d)).map((raw) => ({ raw })),
    bad(String(min - 1), String(max + 1), 'three', '1e2', '+3', '', ' ', '0x10', '1,000', NaN, Infinity, -Infinity, null, true, [3], { N: '3' }, `3${FIELD_MARK}`),
  );

const bool: FieldSpec = {
  good: fc.constantFrom<FieldValue>(
    { raw: true, expected: true },
    { raw: false, expected: false },
    { raw: 'true', expected: true },
    { raw: ' TRUE ', expected: true },
    { raw: 'False', expected: false },
  ),
  bad: bad('yes', 'no', '1', '0', 1, 0, null, [], 'ture', '', `true${FIELD_MARK}`),
};

const ERROR_NAMES = ['States.Timeout', 'Lambda.ServiceException', 'States.TaskFailed', 'Custom.*', 'My-Error:X', 'States.*', 'Lambda.TooManyRequestsException', '*'];

const nameList = (minLength: number): fc.Arbitrary<FieldValue> =>
  fc
    .subarray(ERROR_NAMES, { minLength, maxLength: 4 })
    .chain((names) =>
      fc.constantFrom<FieldValue>(
        { raw: names, expected: names },
        { raw: names.map((n) => ` ${n} `), expected: names },
        // The console's string set (unmarshalled to a Set).
        ...(names.length > 0 ? [{ raw: new Set(names), expected: names }] : []),
      ),
    );

export const FIELDS: Readonly<Record<string, FieldSpec>> = {
  enabled: bool,
  dryRun: bool,
  maxRedrives: { good: wholeNumber(0, 1000), bad: badWholeNumber(0, 1000) },
  intervalSeconds: { good: wholeNumber(0, MAX_DELAY_LIMIT_SECONDS), bad: badWholeNumber(0, MAX_DELAY_LIMIT_SECONDS) },
  maxDelaySeconds: { good: wholeNumber(1, MAX_DELAY_LIMIT_SECONDS), bad: badWholeNumber(1, MAX_DELAY_LIMIT_SECONDS) },
  backoffRate: {
    good: fc.oneof(
      fc.double({ min: 1, max: 100, noNaN: true }).map((n) => ({ raw: n, expected: n })),
      fc.tuple(fc.integer({ min: 1, max: 99 }), fc.nat(99)).map(([a, b]) => ({ raw: ` ${a}.${b} `, expected: Number(`${a}.${b}`) })),
      fc.constantFrom<FieldValue>({ raw: '2', expected: 2 }, { raw: 100, expected: 100 }, { raw: '1', expected: 1 }),
    ),
    bad: fc.oneof(
      fc.double({ min: -1e6, max: 0.999_999, noNaN: true }).map((raw) => ({ raw })),
      fc.double({ min: 100.000_001, max: 1e300, noNaN: true }).map((raw) => ({ raw })),
      bad('fast', '2x', '1e1', NaN, Infinity, null, false, ['2'], '', '100.5'),
    ),
  },
  jitter: {
    good: fc.constantFrom<FieldValue>(
      { raw: 'FULL', expected: 'FULL' },
      { raw: 'NONE', expected: 'NONE' },
      { raw: 'full', expected: 'FULL' },
      { raw: ' None ', expected: 'NONE' },
    ),
    bad: bad('PARTIAL', 'EQUAL', 'DECORRELATED', 1, null, ['FULL'], '', `FULL${FIELD_MARK}`),
  },
  errorEquals: {
    good: fc.oneof(fc.constant<FieldValue>({ raw: ['States.ALL'], expected: ['States.ALL'] }), nameList(1)),
    bad: bad([], ['States.ALL', 'States.Timeout'], 'States.ALL', ['has space'], [''], ['  '], [1], ['a*'], ['Lambda.**'], null, [null], [`x${FIELD_MARK} y`]),
  },
  nonRetryableErrors: {
    good: nameList(0),
    bad: bad('States.Runtime', ['bad name'], [''], [null], 5, [['States.Runtime']], ['States.Runtime!']),
  },
  statuses: {
    good: fc.subarray(['FAILED', 'TIMED_OUT', 'ABORTED'], { minLength: 1 }).chain((l) =>
      fc.constantFrom<FieldValue>({ raw: l, expected: l }, { raw: l.map((s) => ` ${s}`), expected: l }, { raw: new Set(l), expected: l }),
    ),
    bad: bad([], ['SUCCEEDED'], ['failed'], 'FAILED', ['FAILED', 'RUNNING'], null, [5], ['PENDING_REDRIVE']),
  },
  description: {
    good: fc.string({ maxLength: 200 }).map((s) => ({ raw: s, expected: s })),
    bad: bad('d'.repeat(1025), 5, null, ['text'], true),
  },
  updatedAt: { good: fc.constant<FieldValue>({ raw: '2024-01-01T00:00:00Z' }), bad: bad(5, null) },
  updatedBy: { good: fc.constant<FieldValue>({ raw: 'alice@example.com' }), bad: bad(5, ['alice']) },
};

export const KNOWN_FIELDS: ReadonlySet<string> = new Set(['stateMachine', ...Object.keys(FIELDS)]);

const stateMachine: FieldSpec = {
  good: fc.constantFrom<FieldValue>(
    { raw: '*', expected: '*' },
    { raw: FIXTURE_MACHINE_ARN, expected: FIXTURE_MACHINE_ARN },
    { raw: `${PREFIX}orders-*`, expected: `${PREFIX}orders-*` },
  ),
  // A padded key never matches (matching compares the stored key), so it is an error.
  bad: bad('', '   ', ' *', `${FIXTURE_MACHINE_ARN} `, 5, null, [FIXTURE_MACHINE_ARN], { S: '*' }),
};

/** Misspellings a person makes (ASL casing included). */
export const TYPOS = ['maxRedrive', 'MaxRedrives', 'interval', 'backoff', 'errorequals', 'ErrorEquals', 'IntervalSeconds', 'Statuses', 'dry_run', 'enable', 'jitterStrategy'];

export interface GeneratedPolicyItem {
  readonly item: Record<string, unknown>;
  readonly badFields: readonly string[];
  readonly typo: string | undefined;
  /** Expected parsed values of the good fields that were set (key: field name). */
  readonly expected: Readonly<Record<string, unknown>>;
}

type Choice = { kind: 'absent' } | { kind: 'good'; v: FieldValue } | { kind: 'bad'; v: FieldValue };

/** Per field: absent 16, good 20, bad 1, so about two items in three are wholly valid. */
const choice = (spec: FieldSpec): fc.Arbitrary<Choice> =>
  fc.oneof(
    { arbitrary: fc.constant<Choice>({ kind: 'absent' }), weight: 16 },
    { arbitrary: spec.good.map<Choice>((v) => ({ kind: 'good', v })), weight: 20 },
    { arbitrary: spec.bad.map<Choice>((v) => ({ kind: 'bad', v })), weight: 1 },
  );

/** Most items are valid; the rest have one or more mistakes. */
export const policyItem: fc.Arbitrary<GeneratedPolicyItem> = fc
  .record({
    sm: fc.oneof({ arbitrary: stateMachine.good.map<Choice>((v) => ({ kind: 'good', v })), weight: 12 }, { arbitrary: stateMachine.bad.map<Choice>((v) => ({ kind: 'bad', v })), weight: 1 }, { arbitrary: fc.constant<Choice>({ kind: 'absent' }), weight: 1 }),
    fields: fc.record(Object.fromEntries(Object.entries(FIELDS).map(([k, spec]) => [k, choice(spec)])) as Record<string, fc.Arbitrary<Choice>>),
    typo: fc.oneof({ arbitrary: fc.constant(undefined), weight: 15 }, { arbitrary: fc.tuple(fc.constantFrom(...TYPOS), fc.oneof(fc.integer(), fc.string())), weight: 1 }),
  })
  .map(({ sm, fields, typo }) => {
    const item: Record<string, unknown> = {};
    const badFields: string[] = [];
    const expected: Record<string, unknown> = {};
    const put = (name: string, c: Choice) => {
      if (c.kind === 'absent') {
        if (name === 'stateMachine') badFields.push(name);
        return;
      }
      item[name] = c.v.raw;
      if (c.kind === 'bad') badFields.push(name);
      else if (c.v.expected !== undefined) expected[name] = c.v.expected;
    };
    put('stateMachine', sm);
    for (const [name, c] of Object.entries(fields)) put(name, c);
    if (typo) item[typo[0]] = typo[1];
    return { item, badFields, typo: typo?.[0], expected };
  });

/** The same item as the DynamoDB console stores it (typed attribute values). */
export function toAttributeValue(v: unknown): AttributeValue {
  if (v === null || v === undefined) return { NULL: true };
  if (typeof v === 'string') return { S: v };
  if (typeof v === 'number') return { N: String(v) };
  if (typeof v === 'boolean') return { BOOL: v };
  if (v instanceof Set) {
    const values = [...v];
    if (values.length > 0 && values.every((x) => typeof x === 'string')) return { SS: values as string[] };
    return { L: values.map(toAttributeValue) };
  }
  if (Array.isArray(v)) return { L: v.map(toAttributeValue) };
  return { M: Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, toAttributeValue(x)])) };
}

export function toDynamoItem(item: Record<string, unknown>): Record<string, AttributeValue> {
  return Object.fromEntries(Object.entries(item).map(([k, v]) => [k, toAttributeValue(v)]));
}

/** Any attribute value at all, as a careless console edit could produce. */
export const anyAttributeValue: fc.Arbitrary<AttributeValue> = fc.letrec<{ av: AttributeValue }>((tie) => ({
  av: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.string().map((S) => ({ S })),
    fc.oneof(fc.integer().map(String), fc.double().map(String), fc.constantFrom('1e400', '-1e400', '0.0000001', 'abc', '', ' 3 ', '99999999999999999999999')).map((N) => ({ N })),
    fc.boolean().map((BOOL) => ({ BOOL })),
    fc.constant({ NULL: true as const }),
    fc.uint8Array({ maxLength: 8 }).map((B) => ({ B })),
    fc.uniqueArray(fc.string(), { minLength: 1, maxLength: 3 }).map((SS) => ({ SS })),
    fc.uniqueArray(fc.integer().map(String), { minLength: 1, maxLength: 3 }).map((NS) => ({ NS })),
    fc.array(tie('av'), { maxLength: 3 }).map((L) => ({ L })),
    fc.dictionary(fc.string({ maxLength: 8 }), tie('av'), { maxKeys: 3 }).map((M) => ({ M })),
  ),
})).av;

/** A whole stored item: mostly policy-shaped keys, any values. */
export const anyDynamoPolicyItem: fc.Arbitrary<Record<string, AttributeValue>> = fc.dictionary(
  fc.oneof(fc.constantFrom('stateMachine', ...Object.keys(FIELDS), ...TYPOS), fc.string({ maxLength: 10 })),
  anyAttributeValue,
  { maxKeys: 6 },
);
