/**
 * Fuzzing the controller's edges with fast-check (fixed seed, bounded by runs and time):
 *   (a) parseStatusChange on the five real events mutated, and on nonsense;
 *   (b) handleStatusChange end to end with in-memory dependencies;
 *   (c) policy items as people type them (JSON file or DynamoDB console);
 * plus the policy-key matcher (no catastrophic backtracking) and a differential check
 * that the in-memory ledger used by (b) behaves like the real one on dynalite.
 *
 * The figures printed at the end are quoted in README.md ("Reliability and threat model").
 */
import fc from 'fast-check';
import { type AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { redriveClientToken } from '../../lambda/act/client-token';
import { handleStatusChange, DependencyBusyError, type Outcome } from '../../lambda/event-path';
import { delaySeconds } from '../../lambda/decide/backoff';
import { SKIP_REASONS } from '../../lambda/decide/decision';
import { ARN_PATTERNS, stateMachineArnOf } from '../../contract/arn';
import { EXECUTION_STATUSES, MalformedEventError, parseStatusChange, type StatusChange } from '../../lambda/event/status-change';
import { InMemoryMetrics, MemoryLog } from '../../lambda/observability/telemetry';
import { keyMatches } from '../../lambda/policy/policy-match';
import { PolicySource, itemFromDynamo, resolvePolicy, type PolicySnapshot } from '../../lambda/policy/policy-source';
import { JITTER_STRATEGIES, MAX_DELAY_LIMIT_SECONDS, POLICY_DEFAULTS, parsePolicyItem, type PolicyParseResult } from '../../contract/policy-schema';
import type { KillSwitch } from '../../lambda/record/kill-switch';
import { FailureLedger, type FailureFacts, type FailureRecord } from '../../lambda/record/failure-ledger';
import { REDRIVABLE_STATUSES } from '../../contract/event-pattern';
import { METRIC } from '../../contract/metrics';
import { LEDGER_TABLE } from '../../contract/table-definitions';
import { createTable, startDynalite, type LocalDynamo } from '../../local/dynamodb';
import {
  ACCOUNT,
  FIELD_MARK,
  FIXTURE_EXECUTION_ARN,
  FIXTURE_MACHINE_ARN,
  INPUT_MARK,
  OUTPUT_MARK,
  anyEvent,
  controllerEvent,
  clockOffsetMs,
  currentExecution,
  redriveAnswer,
  seedState,
  seededRecord,
  worldPolicyItem,
} from './support/arbitraries';
import { FakeLedger, fakeWorld } from './support/fakes';
import { check, figuresTable, notes, runAsyncProperty, runProperty, RUNS, same, SEED } from './support/fuzz-runner';
import { FIELDS, KNOWN_FIELDS, anyDynamoPolicyItem, policyItem, toDynamoItem } from './support/policy-items';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const has = (text: string, ...needles: string[]) => needles.some((n) => text.includes(n));
/** `text` with every occurrence of `value` (raw, and as it appears inside JSON) removed. */
const without = (text: string, value: string | null | undefined) =>
  value ? text.split(value).join('').split(JSON.stringify(value).slice(1, -1)).join('') : text;
const SECRETS = [INPUT_MARK, OUTPUT_MARK];

/** Where a value could leak: everything the controller wrote or said, as one string. */
function everythingSaid(w: ReturnType<typeof fakeWorld>, outcome: Outcome | undefined): string {
  return JSON.stringify({
    log: w.log.lines,
    audit: w.audit.entries,
    metrics: w.metrics.points,
    ledger: [...w.ledger.records.values()],
    owners: w.notifier.events,
    calls: { redrives: w.sfn.redrives, describes: w.sfn.describes },
    outcome,
  });
}

afterAll(() => {
  console.log(`fuzz seed ${SEED}, target ${RUNS} cases per property\n${figuresTable()}`);
});

// ---- (a) the event parser -----------------------------------------------------------

describe('(a) parseStatusChange', () => {
  const PROBLEM = /^(\(event\)|[A-Za-z-]+(\.[A-Za-z]+)?): \S/;

  test('never throws; parses into a consistent event or names the problem without echoing any value', () => {
    const seen = { parsed: 0, malformed: 0 };
    runProperty(
      'parseStatusChange: mutated fixtures and nonsense',
      fc.property(anyEvent, ({ raw }) => {
        let result;
        try {
          result = parseStatusChange(raw);
        } catch (e) {
          throw new Error(`parseStatusChange threw: ${(e as Error).name}`);
        }
        if (result.ok) {
          seen.parsed++;
          const e: StatusChange = result.event;
          check(Number.isFinite(e.eventTime), 'eventTime is a number', e);
          check((EXECUTION_STATUSES as readonly string[]).includes(e.status), 'known status', e);
          check(ARN_PATTERNS.execution.test(e.executionArn), 'execution ARN', e);
          const machine = stateMachineArnOf(e.executionArn);
          check(e.stateMachineArn === machine || (e.mapRunLabel !== undefined && e.stateMachineArn === `${machine}/${e.mapRunLabel}`), 'ARNs agree', e);
          check(e.executionArn.split(':')[4] === e.account && e.executionArn.split(':')[3] === e.region, 'account and Region from the ARN', e);
          if (e.redriveCount !== null) check(Number.isInteger(e.redriveCount) && e.redriveCount >= 0 && e.redriveCount <= 1_000_000, 'redriveCount in range', e);
          if (e.stopDate !== null) check(e.stopDate >= e.startDate, 'stopDate after startDate', e);
          check(!('input' in e) && !('output' in e), 'input and output are not parsed', e);
          check(!has(JSON.stringify(e), ...SECRETS), 'no input or output in the parsed event', e);
        } else {
          seen.malformed++;
          const err = result.error;
          check(err instanceof MalformedEventError, 'a MalformedEventError');
          check(err.problems.length > 0, 'at least one problem');
          for (const p of err.problems) check(PROBLEM.test(p), 'problem names a field', p);
          // No value from the event in the text: not the input, the output, nor any other
          // field's value. The one exception by design is the event id (cut to 256), which
          // links the log line and audit entry to the dead-lettered event.
          check(!has(without(err.message, err.eventId), INPUT_MARK, OUTPUT_MARK, FIELD_MARK), 'no value echoed', err.message);
          check(err.message.length < 4096, 'bounded message', err.message.length);
        }
      }),
    );
    // Both branches were exercised in earnest.
    expect(seen.parsed).toBeGreaterThan(RUNS / 10);
    expect(seen.malformed).toBeGreaterThan(RUNS / 10);
  });

  test('the only value echoed in an error is the event id, cut to 256 characters', () => {
    const raw = { id: `${'i'.repeat(300)}`, source: 'aws.states', detail: { input: INPUT_MARK } };
    const r = parseStatusChange(raw);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.eventId).toHaveLength(256);
      expect(r.error.message).not.toContain('i'.repeat(257));
    }
  });
});

// ---- (b) the controller path --------------------------------------------------------

const RECORDED_REASONS = new Set<string>([...SKIP_REASONS, 'no-delay', 'due', 'retry-abandoned-claim', 'backoff']);

const controllerCase = fc.record({
  event: controllerEvent,
  policies: fc.oneof({ arbitrary: fc.array(worldPolicyItem, { minLength: 1, maxLength: 3 }), weight: 9 }, { arbitrary: fc.constant([] as Record<string, unknown>[]), weight: 1 }),
  paused: fc.oneof({ arbitrary: fc.constant(false), weight: 9 }, { arbitrary: fc.constant(true), weight: 1 }),
  seeds: fc.uniqueArray(fc.record({ redriveCount: fc.nat(4), state: seedState }), { maxLength: 3, selector: (s) => s.redriveCount }),
  current: currentExecution,
  redrive: redriveAnswer,
  redriveGranted: fc.oneof({ arbitrary: fc.constant(true), weight: 9 }, { arbitrary: fc.constant(false), weight: 1 }),
  describeGranted: fc.oneof({ arbitrary: fc.constant(true), weight: 19 }, { arbitrary: fc.constant(false), weight: 1 }),
  offset: clockOffsetMs,
});

function policiesOf(items: Record<string, unknown>[]): Map<string, PolicyParseResult> {
  // Keyed by the raw key, as PolicySource does.
  return new Map(items.map((i) => [String(i.stateMachine), parsePolicyItem(i)]));
}

describe('(b) handleStatusChange with in-memory dependencies', () => {
  test('never throws past its boundary, redrives only what a policy covers, records every decision, leaks nothing', async () => {
    const reasons = new Map<string, number>();
    let redriven = 0;
    let successes = 0;
    await runAsyncProperty(
      'handleStatusChange: decisions, redrive guard, no leaks',
      fc.asyncProperty(controllerCase, async (c) => {
        const parsed = parseStatusChange(structuredClone(c.event.raw));
        const event = parsed.ok ? parsed.event : undefined;
        const executionArn = event?.executionArn ?? FIXTURE_EXECUTION_ARN;
        const now = (event?.eventTime ?? 1_700_116_683_000) + c.offset;
        const ledger = new FakeLedger();
        for (const s of c.seeds) ledger.put(seededRecord(executionArn, s.redriveCount, s.state, now));
        // As this version keeps the ledger: a later failure's record comes with a record 0 (failure-ledger.ts).
        const later = [...ledger.records.values()].find((r) => r.redriveCount > 0);
        if (later && !(await ledger.get(executionArn, 0))) await ledger.supersede(later, now - 1);
        const before = new Map([...ledger.records].map(([k, r]) => [k, { ...r }]));
        const policies = policiesOf(c.policies);
        const w = fakeWorld({
          now,
          policies,
          paused: c.paused,
          ledger,
          redrive: () => c.redrive,
          describe: (arn) => (c.current ? { ...c.current, executionArn: arn, stateMachineArn: event?.stateMachineArn ?? FIXTURE_MACHINE_ARN } : undefined),
          redriveGranted: c.redriveGranted,
          describeGranted: c.describeGranted,
        });

        let outcome: Outcome | undefined;
        try {
          outcome = await handleStatusChange(c.event.raw, w.deps);
        } catch (e) {
          // The one documented throw with healthy storage: the describe budget is spent,
          // so the event goes back to Lambda for a retry. Nothing may have happened.
          check(e instanceof DependencyBusyError && !c.describeGranted, 'only DependencyBusyError escapes', (e as Error).stack);
          check(w.sfn.redrives.length === 0, 'no redrive before a DependencyBusyError');
          same(ledger.states(), Object.fromEntries([...before].map(([k, r]) => [k, r.state])), 'ledger unchanged');
          check(!has(everythingSaid(w, undefined), ...SECRETS), 'no input or output anywhere');
          return;
        }

        // A redriven execution's success (the rule forwards it as the breaker's evidence) is
        // no decision: a metric, no audit entry, no ledger write, no redrive, nothing leaked.
        if (event?.status === 'SUCCEEDED' && (event.redriveCount ?? 0) > 0) {
          successes++;
          check(w.audit.entries.length === 0, 'no audit entry for a redrive that succeeded', w.audit.entries);
          check(w.metrics.sum(METRIC.redrivesSucceeded) === 1 && w.metrics.sum('Decisions') === 0, 'one RedrivesSucceeded data point, no Decisions', w.metrics.points);
          check(outcome.action === 'skipped' && w.sfn.redrives.length === 0 && w.sfn.describes.length === 0, 'nothing called', { outcome, sfn: w.sfn });
          same(ledger.states(), Object.fromEntries([...before].map(([k, r]) => [k, r.state])), 'ledger unchanged');
          check(!has(everythingSaid(w, outcome), ...SECRETS), 'no input or output anywhere');
          return;
        }
        // Every other case ends in exactly one recorded decision with a reason.
        check(w.audit.entries.length === 1, 'exactly one audit entry', w.audit.entries);
        const entry = w.audit.entries[0];
        check(entry.reason === outcome.decision.reason && entry.decision === outcome.decision.decision, 'audit = outcome', { entry, outcome });
        check(RECORDED_REASONS.has(entry.reason) && entry.detail.length > 0, 'a known reason and a detail', entry);
        check(w.metrics.sum('Decisions') === 1, 'one Decisions data point', w.metrics.points);
        const kind = `${entry.decision}:${entry.reason}:${entry.action}`;
        reasons.set(kind, (reasons.get(kind) ?? 0) + 1);

        // Nothing from input/output anywhere; for malformed events, no field value either.
        const said = everythingSaid(w, outcome);
        check(!has(said, ...SECRETS), 'no input or output in logs, audit, metrics, ledger, owner events');
        if (!parsed.ok) {
          check(!has(without(said, parsed.error.eventId), FIELD_MARK), 'no field value of a malformed event anywhere');
          check(outcome.decision.reason === 'malformed-event', 'malformed events are skipped as such', outcome.decision);
        }

        // Redrive guard: at most one call, and only for a covered, well-formed, redrivable failure.
        check(w.sfn.redrives.length <= 1, 'at most one redrive per event', w.sfn.redrives);
        if (w.sfn.redrives.length === 1) {
          redriven++;
          check(parsed.ok, 'only a well-formed event is redriven');
          const e = parsed.event;
          check(outcome.decision.decision === 'redrive', 'a redrive decision', outcome.decision);
          const snapshot: PolicySnapshot = { policies, pause: { paused: c.paused }, loadedAt: now };
          const resolution = resolvePolicy(snapshot, e.stateMachineArn);
          check(resolution.kind === 'found', 'a valid policy covers it', resolution);
          const p = resolution.policy;
          check(p.enabled && !p.dryRun && !c.paused, 'enabled, not a dry run, not paused', p);
          check((REDRIVABLE_STATUSES as readonly string[]).includes(e.status) && p.statuses.includes(e.status as never), 'status covered', [e.status, p.statuses]);
          check(e.redriveStatus !== 'NOT_REDRIVABLE' && e.redriveStatus !== 'REDRIVABLE_BY_MAP_RUN' && e.mapRunLabel === undefined, 'redrivable, not a map-run child', e);
          const count = outcome.decision.redriveCount!;
          check(count === (e.redriveCount ?? c.current?.redriveCount), 'the failure the event is about', count);
          check(count < p.maxRedrives, 'below maxRedrives', [count, p.maxRedrives]);
          same(w.sfn.redrives[0], { executionArn: e.executionArn, clientToken: redriveClientToken(e.executionArn, count) }, 'the deterministic clientToken');
          const prior = before.get(`${e.executionArn}#${count}`);
          const takeable =
            prior === undefined ||
            prior.state === 'skipped' ||
            (prior.state === 'pending' && prior.dueAt! <= now) ||
            (prior.state === 'claimed' && prior.claimExpiresAt! <= now);
          check(takeable, 'the record was free to take', prior);
          for (const r of before.values()) check(r.redriveCount <= count, 'no later failure recorded', r);
          if (w.sfn.describes.length > 0 && c.current) {
            check(c.current.redriveCount <= count && (REDRIVABLE_STATUSES as readonly string[]).includes(c.current.status), 'Step Functions agrees it is still this failure', c.current);
          }
        } else if (outcome.decision.decision === 'redrive') {
          check(['lost-race', 'deferred'].includes(outcome.action), 'a redrive decision without a call is a deferral or a lost race', outcome);
        }

        // The ledger: nothing left claimed by this invocation; the outcome is what the record says.
        for (const [k, r] of ledger.records) {
          if (r.state === 'claimed') check(r.claimToken === 'seed', 'no claim left behind', r);
          const old = before.get(k);
          if (old?.state === 'redriven') same(r, old, 'a redriven record never changes');
        }
        if (event && outcome.decision.redriveCount !== null) {
          const r = ledger.records.get(`${event.executionArn}#${outcome.decision.redriveCount}`);
          const expectedState = ({ redriven: 'redriven', scheduled: 'pending', deferred: 'pending', rejected: 'skipped' } as Record<string, string>)[outcome.action];
          if (expectedState) check(r?.state === expectedState, `action ${outcome.action} leaves the record ${expectedState}`, r);
        }
        // A RUNNING or SUCCEEDED event is not a failure: it writes no failure record. (It may
        // still settle an abandoned claim that Step Functions shows was redriven.)
        if (event && !(REDRIVABLE_STATUSES as readonly string[]).includes(event.status)) {
          for (const [k, r] of ledger.records) {
            const old = before.get(k);
            check(old !== undefined, 'a non-failure event creates no failure record', r);
            if (old.state !== r.state) {
              check(old.state === 'claimed' && r.state === 'redriven' && (c.current?.redriveCount ?? -1) > r.redriveCount, 'only an abandoned claim, redriven meanwhile, is settled', { old, r });
            }
          }
        }
        // Only the failure the event is about may change.
        for (const [k, r] of before) {
          if (!event || k !== `${event.executionArn}#${outcome.decision.redriveCount}`) same(ledger.records.get(k), r, 'other records untouched');
        }
      }),
    );
    notes.push(
      `handleStatusChange outcomes (decision:reason:action -> cases), ${redriven} cases redriven, ${successes} redrive successes (no decision):`,
      ...[...reasons].sort((a, b) => b[1] - a[1]).map(([k, n]) => `  ${k} ${n}`),
    );
    // The harness reached the interesting outcomes, not only skips: at least 1% of the
    // cases that ran (under load the time limit may stop the property before RUNS).
    const cases = [...reasons.values()].reduce((a, b) => a + b, 0);
    expect(cases).toBeGreaterThan(1000);
    expect(redriven).toBeGreaterThan(cases / 100);
    for (const k of ['redrive:no-delay:redriven', 'redrive-later:backoff:scheduled', 'skip:malformed-event:skipped', 'skip:no-policy:skipped', 'skip:limit-reached:skipped', 'skip:already-handled:skipped']) {
      expect([k, reasons.get(k) ?? 0]).toEqual([k, expect.any(Number)]);
      expect(reasons.get(k) ?? 0).toBeGreaterThan(0);
    }

  });
});

// ---- (c) policy items ---------------------------------------------------------------

function checkBounds(p: ReturnType<typeof parsePolicyItem> & { ok: true }): void {
  const x = p.policy;
  const inRange = (n: number, min: number, max: number, whole: boolean) => Number.isFinite(n) && n >= min && n <= max && (!whole || Number.isInteger(n));
  check(typeof x.key === 'string' && x.key.length > 0 && x.key === x.key.trim(), 'key', x);
  check(typeof x.enabled === 'boolean' && typeof x.dryRun === 'boolean', 'booleans', x);
  check(inRange(x.maxRedrives, 0, 1000, true), 'maxRedrives 0..1000', x);
  check(inRange(x.intervalSeconds, 0, MAX_DELAY_LIMIT_SECONDS, true), 'intervalSeconds 0..14 days', x);
  check(inRange(x.backoffRate, 1, 100, false), 'backoffRate 1..100', x);
  check(inRange(x.maxDelaySeconds, 1, MAX_DELAY_LIMIT_SECONDS, true), 'maxDelaySeconds 1..14 days', x);
  check((JITTER_STRATEGIES as readonly string[]).includes(x.jitter), 'jitter', x);
  check(x.errorEquals.length > 0 && (!x.errorEquals.includes('States.ALL') || x.errorEquals.length === 1), 'errorEquals', x);
  for (const n of [...x.errorEquals, ...x.nonRetryableErrors]) check(/^[A-Za-z0-9_.\-:]+(\.\*)?$|^\*$/.test(n), 'error name', n);
  check(x.statuses.length > 0 && x.statuses.every((s) => (REDRIVABLE_STATUSES as readonly string[]).includes(s)), 'statuses', x);
  check(x.description === undefined || x.description.length <= 1024, 'description', x);
}

describe('(c) policy items as typed by people', () => {
  const itemWithDelay = fc.tuple(policyItem, fc.constantFrom('json', 'dynamodb'), fc.integer({ min: 0, max: 1_000_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }));

  test('never throws; accepted items satisfy every documented bound; rejected items name each wrong field', () => {
    let accepted = 0;
    runProperty(
      'parsePolicyItem: JSON file and DynamoDB console typings',
      fc.property(itemWithDelay, ([g, mode, redriveCount, fraction]) => {
        const input = mode === 'json' ? g.item : itemFromDynamo(toDynamoItem(g.item));
        let r;
        try {
          r = parsePolicyItem(input);
        } catch (e) {
          throw new Error(`parsePolicyItem threw: ${(e as Error).name}: ${(e as Error).message}`);
        }
        const shouldAccept = g.badFields.length === 0 && g.typo === undefined;
        if (shouldAccept) {
          check(r.ok, 'a valid item is accepted', r.ok ? undefined : r.error.message);
          accepted++;
          checkBounds(r);
          // Lenient typings come out as the value the person meant; absent fields get defaults.
          for (const [field, value] of Object.entries(g.expected)) {
            same((r.policy as unknown as Record<string, unknown>)[field === 'stateMachine' ? 'key' : field], value, field);
          }
          for (const field of ['enabled', 'maxRedrives', 'intervalSeconds', 'backoffRate', 'maxDelaySeconds', 'jitter', 'dryRun'] as const) {
            if (!(field in g.item)) same(r.policy[field], POLICY_DEFAULTS[field], `default ${field}`);
          }
          // Derived bound: the delay the policy produces is whole, non-negative and capped.
          const d = delaySeconds(r.policy, redriveCount, fraction);
          check(Number.isInteger(d) && d >= 0 && d <= r.policy.maxDelaySeconds, 'delay within [0, maxDelaySeconds]', d);
        } else {
          check(!r.ok, 'an item with a mistake is rejected', g);
          const named = r.error.issues.flatMap((i) => i.field.split(', ').map((f) => f.split('.')[0]));
          for (const f of g.badFields) check(named.includes(f), `the error names ${f}`, r.error.issues);
          if (g.typo) check(named.includes(g.typo), `the error names the unknown attribute ${g.typo}`, r.error.issues);
          for (const f of named) check(KNOWN_FIELDS.has(f) || f === g.typo || f === '(item)', 'only real fields are named', f);
          for (const i of r.error.issues) check(i.message.length > 0, 'every issue says what is wrong', i);
          check(r.error.message.includes(r.error.policyKey), 'the error names the item');
        }
      }),
    );
    expect(accepted).toBeGreaterThan(RUNS / 10);
  });

  test('PolicySource loads any stored item without failing the load: one entry per item, invalid ones logged', async () => {
    const killSwitch = { read: async () => ({ paused: false }) } as unknown as KillSwitch;
    await runAsyncProperty(
      'PolicySource.load: arbitrary DynamoDB attribute values',
      fc.asyncProperty(fc.array(anyDynamoPolicyItem, { maxLength: 4 }), async (items) => {
        const client = { send: async () => ({ Items: items as Record<string, AttributeValue>[] }) } as unknown as DynamoDBClient;
        const log = new MemoryLog();
        const source = new PolicySource(client, 'policies', killSwitch, 60_000, log, new InMemoryMetrics());
        const snapshot = await source.snapshot(0);
        const keys = new Set(items.map((i) => i.stateMachine?.S ?? '(no stateMachine key)'));
        expect([...snapshot.policies.keys()].sort()).toEqual([...keys].sort());
        const invalid = [...snapshot.policies.values()].filter((p) => !p.ok).length;
        expect(log.lines.filter((l) => l.level === 'error').length).toBeGreaterThanOrEqual(invalid > 0 ? 1 : 0);
        for (const p of snapshot.policies.values()) if (p.ok) checkBounds(p);
      }),
      Math.max(1000, RUNS / 5),
    );
  });

  test('DynamoDB console specifics: numbers as N, string sets, NULL and out-of-range N', () => {
    const parse = (item: Record<string, AttributeValue>) => parsePolicyItem(itemFromDynamo(item));
    const ok = parse({ stateMachine: { S: '*' }, maxRedrives: { N: '3' }, intervalSeconds: { S: ' 60 ' }, enabled: { BOOL: true }, errorEquals: { SS: ['Lambda.*', 'States.Timeout'] }, dryRun: { S: 'false' } });
    expect(ok.ok && ok.policy).toMatchObject({ maxRedrives: 3, intervalSeconds: 60, enabled: true, errorEquals: ['Lambda.*', 'States.Timeout'], dryRun: false });
    const tooBig = parse({ stateMachine: { S: '*' }, maxRedrives: { N: '1e400' } });
    expect(!tooBig.ok && tooBig.error.issues.map((i) => i.field)).toEqual(['maxRedrives']);
    const cleared = parse({ stateMachine: { S: '*' }, enabled: { NULL: true } });
    expect(!cleared.ok && cleared.error.issues.map((i) => i.field)).toEqual(['enabled']);
    expect(Object.keys(FIELDS).length).toBeGreaterThan(10);
  });
});

// ---- the policy-key matcher -----------------------------------------------------------

/** The matcher the controller used before: a regular expression built from the key (reference only). */
function regexMatch(key: string, arn: string): boolean {
  const escaped = key.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('.*')}$`).test(arn);
}

describe('policy keys', () => {
  test('keyMatches agrees with glob semantics on short keys', () => {
    const alphabet = fc.constantFrom('a', 'b', ':', '-', '/', '.', '*', '?', '(', '[', '\\', 'é');
    const key = fc.array(alphabet, { maxLength: 8 }).map((cs) => cs.join(''));
    const text = fc.array(alphabet.filter((c) => c !== '*'), { maxLength: 10 }).map((cs) => cs.join(''));
    runProperty(
      'keyMatches vs regex reference (short keys)',
      fc.property(key, text, (k, t) => {
        expect(keyMatches(k, t)).toBe(k.includes('*') ? regexMatch(k, t) : k === t);
      }),
    );
  });

  test('adversarial keys finish (the regex matcher backtracked for minutes on these)', () => {
    const arn = `${'arn:aws:states:us-east-1:123456789012:stateMachine:'}${'a'.repeat(60)}`;
    for (let stars = 6; stars <= 30; stars += 6) {
      expect(keyMatches(`*${'a*'.repeat(stars)}b`, arn)).toBe(false);
      expect(keyMatches(`*${'a*'.repeat(stars)}`, arn)).toBe(true);
    }
    const realistic = `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:${'team-'.repeat(15)}staging`;
    expect(keyMatches('arn:aws:states:*:*:stateMachine:*-*-*-*-*-*-*-*-*-*-prod', realistic)).toBe(false);
  });
});

// ---- the fake ledger is the real ledger ----------------------------------------------

type LedgerOp =
  | { op: 'claim'; count: number; at: number }
  | { op: 'claimNew'; count: number; at: number }
  | { op: 'supersede'; count: number; at: number }
  | { op: 'schedule'; count: number; at: number; dueIn: number }
  | { op: 'skip'; count: number; at: number }
  | { op: 'settle'; kind: 'markRedriven' | 'markRejected' | 'defer'; which: number; at: number };

const ledgerOp: fc.Arbitrary<LedgerOp> = fc.oneof(
  fc.record({ op: fc.constant('claim' as const), count: fc.nat(2), at: fc.nat(400) }),
  fc.record({ op: fc.constant('claimNew' as const), count: fc.nat(2), at: fc.nat(400) }),
  fc.record({ op: fc.constant('supersede' as const), count: fc.integer({ min: 1, max: 2 }), at: fc.nat(400) }),
  fc.record({ op: fc.constant('schedule' as const), count: fc.nat(2), at: fc.nat(400), dueIn: fc.integer({ min: -50, max: 200 }) }),
  fc.record({ op: fc.constant('skip' as const), count: fc.nat(2), at: fc.nat(400) }),
  fc.record({ op: fc.constant('settle' as const), kind: fc.constantFrom('markRedriven' as const, 'markRejected' as const, 'defer' as const), which: fc.nat(5), at: fc.nat(400) }),
);

describe('FakeLedger', () => {
  let dynamo: LocalDynamo;
  let client: DynamoDBClient;
  beforeAll(async () => {
    dynamo = await startDynalite();
    client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    await createTable(client, 'ledger', LEDGER_TABLE);
  });
  afterAll(async () => {
    client.destroy();
    await dynamo.close();
  });

  test('answers every sequence of conditional writes exactly like FailureLedger on dynalite', async () => {
    const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    let n = 0;
    const T0 = 1_700_000_000_000;
    await runAsyncProperty(
      'FakeLedger vs FailureLedger (dynalite)',
      fc.asyncProperty(fc.array(ledgerOp, { minLength: 1, maxLength: 8 }), async (ops) => {
        const arn = `arn:aws:states:us-east-1:${ACCOUNT}:execution:diff:${++n}`;
        const real = new FailureLedger(doc, 'ledger', 30);
        const fake = new FakeLedger();
        const claims: { real: import('../../lambda/record/failure-ledger').Claim; fake: import('../../lambda/record/failure-ledger').Claim }[] = [];
        const facts = (count: number): FailureFacts => ({
          executionArn: arn, redriveCount: count, stateMachineArn: 'sm', account: ACCOUNT, region: 'us-east-1', name: 'n',
          status: 'FAILED', startDate: 1, stopDate: 2, errorName: null, cause: 'c', policyKey: '*',
        });
        for (const o of ops) {
          const at = T0 + o.at * 1000;
          let a: unknown;
          let b: unknown;
          if (o.op === 'claim' || o.op === 'claimNew') {
            const [x, y] = await Promise.all([real[o.op](facts(o.count), at, 100_000), fake[o.op](facts(o.count), at, 100_000)]);
            if (x && y) claims.push({ real: x, fake: y });
            [a, b] = [x !== undefined, y !== undefined];
          } else if (o.op === 'supersede') {
            [a, b] = await Promise.all([real.supersede(facts(o.count), at), fake.supersede(facts(o.count), at)]);
          } else if (o.op === 'schedule') {
            [a, b] = await Promise.all([real.schedule(facts(o.count), at + o.dueIn * 1000, at), fake.schedule(facts(o.count), at + o.dueIn * 1000, at)]);
          } else if (o.op === 'skip') {
            [a, b] = await Promise.all([real.skip(facts(o.count), 'paused', at), fake.skip(facts(o.count), 'paused', at)]);
          } else {
            const c = claims[o.which % Math.max(1, claims.length)];
            if (!c) continue;
            const call = (l: FailureLedger | FakeLedger, claim: typeof c.real) =>
              o.kind === 'defer' ? l.defer(claim, at + 30_000, 'transient:x', at) : o.kind === 'markRejected' ? l.markRejected(claim, 'not-redrivable', at) : l.markRedriven(claim, at);
            [a, b] = await Promise.all([call(real, c.real), call(fake, c.fake)]);
          }
          expect([o, a]).toEqual([o, b]);
        }
        const norm = (rs: FailureRecord[]) => rs.map((r) => [r.redriveCount, r.state, r.reason ?? null, r.dueAt ?? null, r.claimExpiresAt ?? null, r.attempts]);
        expect(norm(await real.failuresOf(arn))).toEqual(norm(await fake.failuresOf(arn)));
      }),
      Number(process.env.FUZZ_LEDGER_RUNS ?? 300),
    );
  });
});
