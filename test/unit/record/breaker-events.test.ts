/**
 * What the breaker tells people: the Opened / Closed owner events (group, held count, the
 * first failure's error and cause cut short, never input or output), their metrics, and
 * the EventBridge notifier's PutEvents for them; on dynalite (held counts, the first
 * failure's record).
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { ANNOUNCE_GRACE_MS, heldShard } from '../../../contract/breaker';
import { METRIC } from '../../../contract/metrics';
import { CAUSE_LIMIT, DETAIL_TYPE_BREAKER_CLOSED, DETAIL_TYPE_BREAKER_OPENED, OWNER_EVENT_SOURCE } from '../../../contract/owner-events';
import { BREAKER_DEFAULTS } from '../../../contract/policy-schema';
import { CLOSED_STATE, counterName, step } from '../../../lambda/decide/breaker';
import { InMemoryMetrics, MemoryLog } from '../../../lambda/observability/telemetry';
import { AuditTrail } from '../../../lambda/record/audit-trail';
import { announceClosed, announceIfClosed, announceOpened, announceOwed, recordDecision } from '../../../lambda/record/breaker-events';
import { BreakerStore } from '../../../lambda/record/breaker-store';
import { FailureLedger } from '../../../lambda/record/failure-ledger';
import { EventBridgeNotifier, MemoryNotifier } from '../../../lambda/record/owner-notifier';
import { useLedgerTable } from '../../support/dynalite';
import { failureFacts, T0 } from '../helpers';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const table = useLedgerTable();
const FACTS = failureFacts();
const GROUP = { stateMachineArn: FACTS.stateMachineArn, errorName: FACTS.errorName };
const LONG_CAUSE = `secret-free cause ${'x'.repeat(5000)}`;

function deps() {
  const notifier = new MemoryNotifier();
  const metrics = new InMemoryMetrics();
  const ledger = new FailureLedger(table().doc, table().name, 30);
  return { notifier, metrics, ledger, audit: new AuditTrail(table().doc, table().name, 30), log: new MemoryLog(), clock: () => T0 };
}

/** Breakers that open at first sight (`openAfterSeconds: 0`): these tests are about the announcements, not the wait before opening. */
const AT_ONCE = { ...BREAKER_DEFAULTS, openAfterSeconds: 0 };

function opened() {
  const counted = { ...CLOSED_STATE, counts: { [counterName(T0, AT_ONCE)]: AT_ONCE.threshold } };
  return step(counted, { kind: 'failure', at: T0, executionArn: FACTS.executionArn, redriveCount: FACTS.redriveCount }, AT_ONCE).state;
}

test('Opened: the group, failures in the window, held count (this one included), first failure with its cause cut short; a metric', async () => {
  const d = deps();
  await d.ledger.hold({ ...FACTS, executionArn: `${FACTS.executionArn}-other` }, 'breaker-open', heldShard(GROUP), T0);
  await announceOpened(GROUP, opened(), 5, { error: FACTS.errorName, cause: LONG_CAUSE }, d);
  expect(d.notifier.breakerEvents).toHaveLength(1);
  const [{ detailType, detail }] = d.notifier.breakerEvents;
  expect(detailType).toBe(DETAIL_TYPE_BREAKER_OPENED);
  expect(detail).toEqual({
    stateMachineArn: GROUP.stateMachineArn,
    errorName: GROUP.errorName,
    status: 'open',
    openedAt: new Date(T0).toISOString(),
    closedAt: null,
    reason: 'threshold',
    held: 2,
    failuresInWindow: 5,
    openedBy: null,
    failedProbes: 0,
    nextProbeAt: new Date(T0 + 30_000).toISOString(),
    firstFailure: { executionArn: FACTS.executionArn, error: FACTS.errorName, cause: LONG_CAUSE.slice(0, CAUSE_LIMIT) },
  });
  expect(d.metrics.sum(METRIC.breakerOpened)).toBe(1);
});

test('Closed: the reason, the held count, the first failure read back from the ledger; a metric by reason', async () => {
  const d = deps();
  await d.ledger.hold({ ...FACTS, cause: LONG_CAUSE }, 'breaker-open', heldShard(GROUP), T0);
  const before = { ...opened(), probe: { executionArn: FACTS.executionArn, redriveCount: 0, token: 't', startedAt: T0 + 30_000 } };
  const after = step(before, { kind: 'probe-result', token: 't', outcome: 'succeeded', at: T0 + 40_000 }, BREAKER_DEFAULTS).state;
  await announceClosed(GROUP, before, after, 'probe-succeeded', d);
  expect(d.notifier.breakerEvents[0]).toEqual({
    detailType: DETAIL_TYPE_BREAKER_CLOSED,
    detail: expect.objectContaining({ status: 'releasing', reason: 'probe-succeeded', held: 1, closedAt: new Date(T0 + 40_000).toISOString(), failuresInWindow: null }),
  });
  // The ledger keeps a cause cut at 1,000 characters; the event cuts at CAUSE_LIMIT.
  expect(d.notifier.breakerEvents[0].detail.firstFailure).toEqual({ executionArn: FACTS.executionArn, error: FACTS.errorName, cause: LONG_CAUSE.slice(0, Math.min(1000, CAUSE_LIMIT)) });
  expect(d.metrics.sum(METRIC.breakerClosed, { Reason: 'probe-succeeded' })).toBe(1);
});

test('recordDecision: an audit entry of the given source, a log line and the Decisions metric', async () => {
  const d = deps();
  await recordDecision(FACTS, { decision: 'redrive', reason: 'probe', policyKey: '*', redriveCount: 0, errorName: FACTS.errorName, detail: 'probe' }, { action: 'redriven' }, 'probe', d);
  const [entry] = await d.audit.trail(FACTS.executionArn);
  expect(entry).toMatchObject({ source: 'probe', decision: 'redrive', reason: 'probe', action: 'redriven', eventId: 'probe:0', stateMachineArn: FACTS.stateMachineArn });
  expect(d.metrics.sum(METRIC.decisions, { Outcome: 'redrive', Reason: 'probe' })).toBe(1);
});

describe('EventBridgeNotifier.notifyBreaker', () => {
  const eb = mockClient(EventBridgeClient);
  afterEach(() => eb.reset());
  const detail = { stateMachineArn: GROUP.stateMachineArn, errorName: null, status: 'open', openedAt: null, closedAt: null, reason: 'threshold', held: 1, failuresInWindow: 5, failedProbes: 0, nextProbeAt: null, firstFailure: null };

  test('one entry on the configured bus: source, detail-type, the state machine as resource', async () => {
    eb.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: '1' }] });
    await new EventBridgeNotifier(new EventBridgeClient({ region: 'us-east-1' }), 'owners').notifyBreaker(DETAIL_TYPE_BREAKER_OPENED, detail);
    expect(eb.commandCalls(PutEventsCommand)[0].args[0].input.Entries).toEqual([
      { EventBusName: 'owners', Source: OWNER_EVENT_SOURCE, DetailType: DETAIL_TYPE_BREAKER_OPENED, Detail: JSON.stringify(detail), Resources: [GROUP.stateMachineArn] },
    ]);
  });

  test('a failed entry surfaces as an error', async () => {
    eb.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure' }] });
    await expect(new EventBridgeNotifier(new EventBridgeClient({ region: 'us-east-1' }), 'owners').notifyBreaker(DETAIL_TYPE_BREAKER_CLOSED, detail)).rejects.toThrow('InternalFailure');
  });
});

describe('each breaker event is announced exactly once (the outbox on the breaker item)', () => {
  const S = { ...AT_ONCE, threshold: 2 };
  let now = T0;
  let failNext = 0;

  function outboxDeps() {
    now = T0;
    failNext = 0;
    const d = deps();
    const breakers = new BreakerStore(table().doc, table().name, () => now);
    const notifyBreaker = d.notifier.notifyBreaker.bind(d.notifier);
    d.notifier.notifyBreaker = async (detailType, detail) => {
      if (failNext > 0) {
        failNext--;
        throw new Error('PutEvents: InternalFailure');
      }
      await notifyBreaker(detailType, detail);
    };
    return { ...d, breakers, clock: () => now };
  }

  async function open(d: ReturnType<typeof outboxDeps>) {
    let state = CLOSED_STATE;
    for (let i = 0; i < S.threshold; i++) state = await d.breakers.count(GROUP, [counterName(now, S)], S);
    const { step: s } = await d.breakers.transition(GROUP, { kind: 'failure', at: now, executionArn: FACTS.executionArn, redriveCount: 0 }, S, state);
    expect(s.effects[0]).toMatchObject({ kind: 'opened' });
    return s.state;
  }

  const types = (d: ReturnType<typeof outboxDeps>) => d.notifier.breakerEvents.map((e) => e.detailType);
  const drainRun = async (d: ReturnType<typeof outboxDeps>) => announceOwed(await d.breakers.active(), d);

  test('PutEvents fails once after the opening write: not thrown, sent by the drain after the grace period, then never again', async () => {
    const d = outboxDeps();
    const state = await open(d);
    failNext = 1;
    await expect(announceOpened(GROUP, state, S.threshold, { error: FACTS.errorName, cause: 'boom' }, d)).resolves.toBeUndefined();
    expect(types(d)).toEqual([]);
    // Within the grace period it is left to its writer.
    now = T0 + ANNOUNCE_GRACE_MS - 1;
    expect(await drainRun(d)).toBe(0);
    now = T0 + ANNOUNCE_GRACE_MS;
    expect(await drainRun(d)).toBe(1);
    now += 60_000;
    expect(await drainRun(d)).toBe(0);
    expect(types(d)).toEqual([DETAIL_TYPE_BREAKER_OPENED]);
    // Sent as it was when it opened: which signal, the first probe, the first failure (read back from the ledger).
    expect(d.notifier.breakerEvents[0].detail).toMatchObject({ status: 'open', openedAt: new Date(T0).toISOString(), openedBy: 'redrive-failures', failuresInWindow: 2, nextProbeAt: new Date(T0 + 30_000).toISOString() });
  });

  test('a crash between the opening write and PutEvents: the drain sends it once', async () => {
    const d = outboxDeps();
    await open(d);
    // (the process died here: no announceOpened)
    now = T0 + ANNOUNCE_GRACE_MS;
    expect(await drainRun(d)).toBe(1);
    expect(await drainRun(d)).toBe(0);
    expect(types(d)).toEqual([DETAIL_TYPE_BREAKER_OPENED]);
  });

  test('the writer that succeeds is the only sender: the drain finds nothing owed', async () => {
    const d = outboxDeps();
    const state = await open(d);
    await announceOpened(GROUP, state, S.threshold, { error: FACTS.errorName, cause: 'boom' }, d);
    now = T0 + 10 * ANNOUNCE_GRACE_MS;
    expect(await drainRun(d)).toBe(0);
    expect(types(d)).toEqual([DETAIL_TYPE_BREAKER_OPENED]);
  });

  test('Closed: PutEvents fails on the close, the drain sends it once; the breaker closes for good only after that', async () => {
    const d = outboxDeps();
    const opened = await open(d);
    await announceOpened(GROUP, opened, S.threshold, { error: FACTS.errorName, cause: 'boom' }, d);
    now = T0 + 5_000;
    const { before, step: s } = await d.breakers.transition(GROUP, { kind: 'closed-by-hand', at: now }, S);
    failNext = 1;
    await announceIfClosed(GROUP, before, s, d);
    expect(types(d)).toEqual([DETAIL_TYPE_BREAKER_OPENED]);
    const finish = { kind: 'release-finished' as const, at: now + 10 * 60_000 };
    expect((await d.breakers.transition(GROUP, finish, S)).step.effects).toEqual([{ kind: 'ignored', why: 'an announcement is still owed' }]);
    now += ANNOUNCE_GRACE_MS;
    expect(await drainRun(d)).toBe(1);
    expect(await drainRun(d)).toBe(0);
    expect(types(d)).toEqual([DETAIL_TYPE_BREAKER_OPENED, DETAIL_TYPE_BREAKER_CLOSED]);
    expect(d.notifier.breakerEvents[1].detail).toMatchObject({ status: 'releasing', reason: 'released-by-hand', closedAt: new Date(T0 + 5_000).toISOString(), openedAt: new Date(T0).toISOString() });
    expect((await d.breakers.transition(GROUP, finish, S)).step.effects).toEqual([{ kind: 'finished' }]);
  });
});
