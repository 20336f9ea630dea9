/**
 * fast-check arbitraries for the hardening tests: status-change events (the five real
 * fixtures, mutated; and nonsense), the world around one event (policies, ledger,
 * Step Functions answers), and policy items as people type them in the console.
 *
 * Marker secrets: every execution input and output carries INPUT_MARK / OUTPUT_MARK,
 * and every nonsense string put into another field carries FIELD_MARK, so a test can
 * check that no such value leaks into an error message, a log line, an audit entry, a
 * metric, a ledger record or an owner event.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { REDRIVABLE_STATUSES } from '../../../contract/event-pattern';
import type { DescribedExecution, RedriveResult } from '../../../lambda/act/step-functions';
import { EXECUTION_STATUSES, REDRIVE_STATUSES } from '../../../lambda/event/status-change';
import type { FailureRecord } from '../../../lambda/record/failure-ledger';

export const INPUT_MARK = 'INPUT-S3CR3T-7f1d';
export const OUTPUT_MARK = 'OUTPUT-S3CR3T-9a2c';
export const FIELD_MARK = 'F1ELD-S3CR3T-5e3b';

const FIXTURE_DIR = join(__dirname, '..', '..', 'fixtures', 'status-change-events');
/** The five real events, parsed once (copy before mutating). */
export const FIXTURES: ReadonlyArray<Record<string, any>> = readdirSync(FIXTURE_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(join(FIXTURE_DIR, f), 'utf8')));

export const ACCOUNT = '123456789012';
export const PREFIX = `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:`;
export const FIXTURE_MACHINE_ARN = FIXTURES[0].detail.stateMachineArn as string;
export const FIXTURE_EXECUTION_ARN = FIXTURES[0].detail.executionArn as string;
export const OTHER_MACHINE_ARN = `${PREFIX}orders-prod`;
export const OTHER_EXECUTION_ARN = `arn:aws:states:us-east-1:${ACCOUNT}:execution:orders-prod:run-42`;

export const ENVELOPE_KEYS = ['version', 'id', 'detail-type', 'source', 'account', 'time', 'region', 'resources', 'detail'] as const;
export const DETAIL_KEYS = [
  'executionArn', 'stateMachineArn', 'name', 'status', 'startDate', 'stopDate', 'input', 'output',
  'stateMachineVersionArn', 'stateMachineAliasArn', 'redriveCount', 'redriveDate', 'redriveStatus',
  'redriveStatusReason', 'inputDetails', 'outputDetails', 'error', 'cause',
] as const;

// ---- values -----------------------------------------------------------------------

/** Built once: 300 KiB is above Step Functions' 256 KiB payload limit. */
const HUGE = {
  input: `{"password":"${INPUT_MARK}","blob":"${'x'.repeat(300_000)}"}`,
  output: `{"token":"${OUTPUT_MARK}","blob":"${'y'.repeat(300_000)}"}`,
  field40k: `${'c'.repeat(40_000)}${FIELD_MARK}`,
  field300k: `${FIELD_MARK}${'z'.repeat(300_000)}`,
  // Backtracking bait for the ARN patterns: many '/' and no final ':'.
  arnBait: `arn:aws:states:us-east-1:${ACCOUNT}:execution:${'a/'.repeat(20_000)}${FIELD_MARK}`,
};

/** Any string with the field marker somewhere in it, full Unicode (lone surrogates too). */
export const markedString: fc.Arbitrary<string> = fc
  .tuple(fc.string({ unit: 'binary', maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 12 }))
  .map(([a, b]) => `${a}${FIELD_MARK}${b}`);

const nearArns: readonly string[] = [
  `arn:aws:states:us-east-1:${ACCOUNT}:execution:${FIELD_MARK}`,
  `arn:aws:states:us-east-1:12345678901:execution:M:${FIELD_MARK}`,
  `arn:aws:states:us-east-1:${ACCOUNT}:execution:M:${FIELD_MARK}\n`,
  `arn:aws:states:us-east-1:${ACCOUNT}:execution:M :${FIELD_MARK}`,
  ` arn:aws:states:us-east-1:${ACCOUNT}:execution:M:${FIELD_MARK}`,
  `ARN:AWS:STATES:US-EAST-1:${ACCOUNT}:EXECUTION:M:${FIELD_MARK}`,
  `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${FIELD_MARK}`,
  `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:${FIELD_MARK}`,
  `arn:aws:states:us_east_1:${ACCOUNT}:execution:M:${FIELD_MARK}`,
  `arn:aws:states:us-east-1:${ACCOUNT}:execution:${'m'.repeat(81)}:${FIELD_MARK}`,
  `arn:aws:states:us-east-1:${ACCOUNT}:execution:M:${FIELD_MARK}${'e'.repeat(80)}`,
  `arn:aws:states:us-east-1:${ACCOUNT}:execution:M/:${FIELD_MARK}`,
  `${FIELD_MARK}:states:us-east-1:${ACCOUNT}:execution:M:x`,
  HUGE.arnBait,
];

const weirdNumber: fc.Arbitrary<number> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(-1, -0, 0.5, 1.5, 2 ** 31, 2 ** 53, 2 ** 53 + 2, Number.MAX_VALUE, 1e300, -1e300, NaN, Infinity, -Infinity, 1_000_001, 253_402_300_800_000),
);

const weirdEnum: fc.Arbitrary<string> = fc.constantFrom(
  'failed', 'FAILED ', ' FAILED', 'Failed', 'PENDING', 'REDRIVING', 'CANCELLED', 'redrivable', 'REDRIVABLE ',
  'NOT-REDRIVABLE', '', '\u0000', 'FAILED\u200b', `FAILED${FIELD_MARK}`, `REDRIVABLE${FIELD_MARK}`,
);

const hugeString: fc.Arbitrary<string> = fc.constantFrom(HUGE.field40k, HUGE.field300k);

/** A value that should not be where it is put. */
export const weirdValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.constant(null), weight: 2 },
  { arbitrary: fc.boolean(), weight: 1 },
  { arbitrary: weirdNumber, weight: 3 },
  { arbitrary: markedString, weight: 3 },
  { arbitrary: fc.constantFrom(...nearArns), weight: 2 },
  { arbitrary: weirdEnum, weight: 2 },
  { arbitrary: hugeString, weight: 1 },
  { arbitrary: fc.array(markedString, { maxLength: 3 }), weight: 1 },
  { arbitrary: fc.dictionary(markedString, markedString, { maxKeys: 3 }), weight: 1 },
  { arbitrary: fc.jsonValue({ maxDepth: 2 }).map((v) => [v, FIELD_MARK]), weight: 1 },
  { arbitrary: fc.constant({}), weight: 1 },
);

/** Timestamps in and around the shapes `z.iso.datetime({ offset: true })` accepts. */
export const datetimeish: fc.Arbitrary<string> = fc.oneof(
  fc.date({ min: new Date(-62_167_219_200_000), max: new Date(253_402_300_799_999), noInvalidDate: true }).map((d) => d.toISOString()),
  fc.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/),
  fc.constantFrom('2023-11-16T06:38:03', '2023-11-16 06:38:03Z', '16/11/2023', '1700116683', '2023-11-16T06:38:03.Z', '+275760-09-13T00:00:00Z'),
);

// ---- events -----------------------------------------------------------------------

type Json = Record<string, any>;

/** `{ value }` once in `1 + oneIn` draws, otherwise undefined. */
export const rarely = <T>(arb: fc.Arbitrary<T>, oneIn: number): fc.Arbitrary<{ value: T } | undefined> =>
  fc.oneof({ arbitrary: fc.constant(undefined), weight: oneIn }, { arbitrary: arb.map((value) => ({ value })), weight: 1 });

type Mutation =
  | { readonly kind: 'delete'; readonly where: 'envelope' | 'detail'; readonly key: string }
  | { readonly kind: 'set'; readonly where: 'envelope' | 'detail'; readonly key: string; readonly value: unknown };

const anyKey = (where: 'envelope' | 'detail') =>
  fc.oneof(
    { arbitrary: fc.constantFrom<string>(...(where === 'envelope' ? ENVELOPE_KEYS : DETAIL_KEYS)), weight: 8 },
    { arbitrary: fc.constantFrom('__proto__', 'constructor', `x-${FIELD_MARK}`, 'Input', 'DETAIL'), weight: 1 },
  );

/** A nonsense change to one field: removed, or set to a value of the wrong shape. */
export const breakingMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), where: fc.constantFrom('envelope' as const, 'detail' as const) }).chain((m) =>
    anyKey(m.where).map((key) => ({ ...m, key })),
  ),
  fc.record({ kind: fc.constant('set' as const), where: fc.constantFrom('envelope' as const, 'detail' as const), value: weirdValue }).chain((m) =>
    anyKey(m.where).map((key) => ({ ...m, key })),
  ),
  fc.record({ kind: fc.constant('set' as const), where: fc.constant('envelope' as const), key: fc.constant('time'), value: datetimeish }),
);

const ERROR_NAMES = [
  'Lambda.AWSLambdaException', 'Lambda.ServiceException', 'Lambda.TooManyRequestsException', 'States.Timeout',
  'States.TaskFailed', 'States.Runtime', 'States.DataLimitExceeded', 'States.ALL', 'Custom.Error', 'My-App:Oops',
];

/** A change that keeps the event well-formed but moves it around the decision space. */
export const plausibleMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constantFrom(...EXECUTION_STATUSES, 'FAILED', 'TIMED_OUT').map((v) => ({ kind: 'set' as const, where: 'detail' as const, key: 'status', value: v })),
  fc.oneof(fc.nat(5), fc.constant(null), fc.integer({ min: 0, max: 1_000_000 })).map((v) => ({ kind: 'set' as const, where: 'detail' as const, key: 'redriveCount', value: v })),
  fc.constantFrom<string | null>(...REDRIVE_STATUSES, null).map((v) => ({ kind: 'set' as const, where: 'detail' as const, key: 'redriveStatus', value: v })),
  fc.constantFrom<string | null>(...ERROR_NAMES, null).map((v) => ({ kind: 'set' as const, where: 'detail' as const, key: 'error', value: v })),
  fc.option(markedString, { nil: null }).map((v) => ({ kind: 'set' as const, where: 'detail' as const, key: 'cause', value: v })),
  fc.constantFrom('redriveCount', 'redriveStatus', 'redriveStatusReason', 'stopDate', 'error', 'cause', 'redriveDate', 'output', 'inputDetails').map((key) => ({ kind: 'delete' as const, where: 'detail' as const, key })),
  fc.constant({ kind: 'set' as const, where: 'detail' as const, key: 'stopDate', value: null }),
);

/** Moves the event to another execution (consistently, or with mismatched ARNs / account / Region). */
const retarget = fc.constantFrom(
  (e: Json) => {
    e.detail.executionArn = OTHER_EXECUTION_ARN;
    e.detail.stateMachineArn = OTHER_MACHINE_ARN;
  },
  (e: Json) => {
    e.detail.executionArn = OTHER_EXECUTION_ARN; // stateMachineArn left pointing at the fixture machine
  },
  (e: Json) => {
    e.account = '999999999999';
  },
  (e: Json) => {
    e.region = 'eu-west-1';
  },
  (e: Json) => {
    // A Distributed Map child of the fixture machine.
    e.detail.executionArn = FIXTURE_EXECUTION_ARN.replace(':execution:MyStateMachine-gddoyum7f:', ':execution:MyStateMachine-gddoyum7f/map-run-1:');
  },
  (e: Json) => {
    e.detail.stopDate = e.detail.startDate - 1;
  },
);

function apply(event: Json, m: Mutation): void {
  const target = m.where === 'envelope' ? event : event.detail;
  if (typeof target !== 'object' || target === null || Array.isArray(target)) return;
  if (m.kind === 'delete') delete target[m.key];
  else Object.defineProperty(target, m.key, { value: m.value, enumerable: true, configurable: true, writable: true });
}

/** Execution input and output that must never be seen again. */
const secretPayloads = fc.oneof(
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }).map((s) => ({ input: JSON.stringify({ password: `${INPUT_MARK}${s}` }), output: JSON.stringify({ token: `${OUTPUT_MARK}${s}` }) })), weight: 9 },
  { arbitrary: fc.constant({ input: HUGE.input, output: HUGE.output }), weight: 1 },
);

export interface GeneratedEvent {
  readonly raw: unknown;
  /** How it was made, for reading counterexamples. */
  readonly origin: 'fixture' | 'random';
}

/** One of the real events with plausible changes and, when `breaking`, sometimes nonsense ones. */
function fixtureEvent(breaking: boolean): fc.Arbitrary<GeneratedEvent> {
  const none = fc.constant([] as Mutation[]);
  return fc
    .record({
      // The FAILED fixtures (01, 03, 04) more often than RUNNING/SUCCEEDED.
      index: fc.oneof({ arbitrary: fc.constantFrom(0, 2, 3), weight: 3 }, { arbitrary: fc.nat(FIXTURES.length - 1), weight: 1 }),
      secrets: secretPayloads,
      plausible: fc.array(plausibleMutation, { maxLength: 3 }),
      breaking: breaking ? fc.oneof({ arbitrary: none, weight: 3 }, { arbitrary: fc.array(breakingMutation, { minLength: 1, maxLength: 3 }), weight: 2 }) : none,
      retarget: rarely(retarget, 5),
      detailReplaced: breaking ? rarely(weirdValue, 24) : fc.constant(undefined),
    })
    .map(({ index, secrets, plausible, breaking: broken, retarget: move, detailReplaced }) => {
      const e = structuredClone(FIXTURES[index]) as Json;
      e.detail.input = secrets.input;
      e.detail.output = secrets.output;
      for (const m of plausible) apply(e, m);
      if (move) move.value(e);
      for (const m of broken) apply(e, m);
      if (detailReplaced) e.detail = detailReplaced.value;
      return { raw: e, origin: 'fixture' as const };
    });
}

export const mutatedFixtureEvent: fc.Arbitrary<GeneratedEvent> = fixtureEvent(true);
/** Well-formed apart from the odd retarget: for exploring decisions rather than parsing. */
export const plausibleFixtureEvent: fc.Arbitrary<GeneratedEvent> = fixtureEvent(false);

/** Nonsense: any JSON value, or an envelope-shaped object full of wrong values. */
export const randomEvent: fc.Arbitrary<GeneratedEvent> = fc
  .oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.constantFrom(undefined, null, 0, '', [], 'aws.states', FIELD_MARK),
    fc.record(
      {
        id: fc.oneof(fc.uuid(), fc.string({ maxLength: 300 }), weirdNumber),
        'detail-type': fc.oneof(fc.constant('Step Functions Execution Status Change'), weirdValue),
        source: fc.oneof(fc.constant('aws.states'), weirdValue),
        account: fc.oneof(fc.constant(ACCOUNT), weirdValue),
        time: fc.oneof(datetimeish, weirdValue),
        region: fc.oneof(fc.constant('us-east-1'), weirdValue),
        detail: fc.dictionary(fc.constantFrom(...DETAIL_KEYS), weirdValue, { maxKeys: 10 }).map((d) => ({ ...d, input: `{"k":"${INPUT_MARK}"}`, output: `"${OUTPUT_MARK}"` })),
      },
      { requiredKeys: [] },
    ),
  )
  .map((raw) => ({ raw, origin: 'random' as const }));

export const anyEvent: fc.Arbitrary<GeneratedEvent> = fc.oneof(
  { arbitrary: mutatedFixtureEvent, weight: 5 },
  { arbitrary: randomEvent, weight: 1 },
);

/** For the controller: mostly decidable events, still a fair share of broken ones. */
export const controllerEvent: fc.Arbitrary<GeneratedEvent> = fc.oneof(
  { arbitrary: plausibleFixtureEvent, weight: 6 },
  { arbitrary: mutatedFixtureEvent, weight: 3 },
  { arbitrary: randomEvent, weight: 1 },
);

// ---- the world around one event ----------------------------------------------------

const mostly = <T>(usual: T, rare: T) => fc.oneof({ arbitrary: fc.constant(usual), weight: 9 }, { arbitrary: fc.constant(rare), weight: 1 });

/** Policy items as stored: mostly valid and permissive enough to reach a redrive, sometimes not. */
export const worldPolicyItem: fc.Arbitrary<Record<string, unknown>> = fc.record(
  {
    stateMachine: fc.constantFrom('*', FIXTURE_MACHINE_ARN, `${PREFIX}MyState*`, OTHER_MACHINE_ARN, `arn:aws:states:*:999999999999:stateMachine:*`, `${PREFIX}*-prod`),
    enabled: mostly(true, false),
    maxRedrives: fc.oneof({ arbitrary: fc.integer({ min: 2, max: 4 }), weight: 8 }, { arbitrary: fc.integer({ min: 0, max: 1 }), weight: 2 }, { arbitrary: fc.constant(-1), weight: 1 }),
    intervalSeconds: fc.constantFrom(0, 0, 0, 30, 600),
    jitter: fc.constantFrom('FULL', 'NONE'),
    statuses: fc.oneof({ arbitrary: fc.constant(['FAILED', 'TIMED_OUT']), weight: 3 }, { arbitrary: fc.subarray([...REDRIVABLE_STATUSES], { minLength: 1 }), weight: 1 }),
    errorEquals: fc.oneof({ arbitrary: fc.constant(['States.ALL']), weight: 3 }, { arbitrary: fc.subarray(['Lambda.*', 'States.Timeout', 'Custom.Error'], { minLength: 1 }), weight: 1 }),
    nonRetryableErrors: fc.oneof({ arbitrary: fc.subarray(['States.Runtime', 'States.DataLimitExceeded']), weight: 4 }, { arbitrary: fc.constant(['Lambda.AWSLambdaException']), weight: 1 }),
    dryRun: mostly(false, true),
  },
  { requiredKeys: ['stateMachine'] },
);

export type SeedState =
  | { readonly state: 'pending'; readonly dueInMs: number }
  | { readonly state: 'claimed'; readonly expiresInMs: number }
  | { readonly state: 'redriven' }
  | { readonly state: 'skipped'; readonly reason: string };

export const seedState: fc.Arbitrary<SeedState> = fc.oneof(
  fc.integer({ min: -600_000, max: 600_000 }).map((dueInMs) => ({ state: 'pending' as const, dueInMs })),
  fc.integer({ min: -600_000, max: 600_000 }).map((expiresInMs) => ({ state: 'claimed' as const, expiresInMs })),
  fc.constant({ state: 'redriven' as const }),
  fc.constantFrom('no-policy', 'paused', 'limit-reached', 'not-redrivable').map((reason) => ({ state: 'skipped' as const, reason })),
);

export function seededRecord(executionArn: string, redriveCount: number, s: SeedState, now: number): FailureRecord {
  return {
    executionArn,
    redriveCount,
    stateMachineArn: FIXTURE_MACHINE_ARN,
    account: ACCOUNT,
    region: 'us-east-1',
    name: 'seeded',
    status: 'FAILED',
    startDate: 1_700_116_674_994,
    stopDate: 1_700_116_682_923,
    errorName: 'Lambda.ServiceException',
    cause: null,
    policyKey: '*',
    state: s.state,
    reason: s.state === 'skipped' ? s.reason : s.state === 'redriven' ? 'redriven' : s.state === 'pending' ? 'backoff' : null,
    dueAt: s.state === 'pending' ? now + s.dueInMs : s.state === 'claimed' ? now + s.expiresInMs : null,
    claimToken: s.state === 'claimed' ? 'seed' : null,
    claimExpiresAt: s.state === 'claimed' ? now + s.expiresInMs : null,
    attempts: s.state === 'claimed' ? 1 : 0,
    updatedAt: now - 1000,
  };
}

export const currentExecution: fc.Arbitrary<Omit<DescribedExecution, 'executionArn' | 'stateMachineArn'> | undefined> = fc.option(
  fc.record({
    name: fc.constant('described'),
    status: fc.oneof({ arbitrary: fc.constant('FAILED' as const), weight: 3 }, { arbitrary: fc.constantFrom(...EXECUTION_STATUSES), weight: 1 }),
    startDate: fc.constant(1_700_116_674_994),
    stopDate: fc.option(fc.constant(1_700_116_682_923), { nil: null }),
    redriveCount: fc.nat(5),
    redriveDate: fc.constant(null),
    redriveStatus: fc.constantFrom<DescribedExecution['redriveStatus']>(...REDRIVE_STATUSES, null),
    redriveStatusReason: fc.option(markedString, { nil: null }),
    error: fc.constantFrom<string | null>(...ERROR_NAMES, null),
    cause: fc.option(markedString, { nil: null }),
  }),
  { nil: undefined, freq: 4 },
);

export const redriveAnswer: fc.Arbitrary<RedriveResult> = fc.oneof(
  { arbitrary: fc.constant({ kind: 'redriven' as const, redriveDate: 1 }), weight: 6 },
  { arbitrary: fc.constantFrom('ExecutionNotRedrivable', 'ExecutionDoesNotExist').map((errorName) => ({ kind: 'rejected' as const, errorName, message: 'no' })), weight: 1 },
  { arbitrary: fc.constantFrom('ThrottlingException', 'ServiceUnavailable', 'TimeoutError').map((errorName) => ({ kind: 'transient' as const, errorName, message: 'later' })), weight: 1 },
);

/** Controller clock relative to the event time: fresh, stale, or behind. */
export const clockOffsetMs: fc.Arbitrary<number> = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 60_000 }), weight: 6 },
  { arbitrary: fc.integer({ min: 300_001, max: 14 * 86_400_000 }), weight: 3 },
  { arbitrary: fc.integer({ min: -10_000, max: -1 }), weight: 1 },
);
