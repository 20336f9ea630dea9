/**
 * carryOut: each decision against the ledger and Step Functions, on the in-memory ledger
 * that fuzz.test.ts checks against the real one. Only the holder of a claim calls
 * RedriveExecution; anything transient becomes a pending redrive, never a lost failure.
 */
import { METRIC } from '../../../contract/metrics';
import { redriveClientToken } from '../../../lambda/act/client-token';
import { carryOut, transientRetryMs } from '../../../lambda/act/carry-out';
import type { RedriveResult } from '../../../lambda/act/step-functions';
import { type Decision, skipDecision, type SkipReason } from '../../../lambda/decide/decision';
import { fakeWorld, type FakeWorldOptions } from '../../hardening/support/fakes';
import { failureFacts, T0 } from '../helpers';

const FACTS = failureFacts();
const ARN = FACTS.executionArn;
const KEY = `${ARN}#0`;
const SUBJECT = { policyKey: '*', redriveCount: 0, errorName: 'Lambda.ServiceException' };
const REDRIVE: Decision = { decision: 'redrive', reason: 'no-delay', ...SUBJECT, detail: 'redrive 1 of 3' };
const LATER: Decision = { decision: 'redrive-later', reason: 'backoff', ...SUBJECT, delaySeconds: 30, dueAt: T0 + 30_000, detail: 'in 30s' };
const skip = (reason: SkipReason) => skipDecision(reason, `because ${reason}`, SUBJECT);

const world = (options: Partial<FakeWorldOptions> = {}) => fakeWorld({ now: T0, policies: new Map(), ...options });

describe('skip', () => {
  it('records the skip over the failure', async () => {
    const w = world();
    await expect(carryOut(skip('limit-reached'), FACTS, w.deps)).resolves.toEqual({ action: 'skipped' });
    expect(w.ledger.records.get(KEY)).toMatchObject({ state: 'skipped', reason: 'limit-reached' });
  });

  it('a dry run is recorded as a skip and reported as dry-run', async () => {
    const w = world();
    await expect(carryOut(skip('dry-run'), FACTS, w.deps)).resolves.toEqual({ action: 'dry-run' });
    expect(w.ledger.records.get(KEY)).toMatchObject({ state: 'skipped', reason: 'dry-run' });
  });

  it.each<SkipReason>(['already-handled', 'malformed-event'])('%s leaves the failure record to whoever settles it', async (reason) => {
    const w = world();
    await w.deps.ledger.claim(FACTS, T0, 60_000);
    const before = w.ledger.states();
    await expect(carryOut(skip(reason), FACTS, w.deps)).resolves.toEqual({ action: 'skipped' });
    expect(w.ledger.states()).toEqual(before);
  });

  it('without failure facts (not a failure) nothing is written', async () => {
    const w = world();
    await expect(carryOut(skip('status-not-covered'), null, w.deps)).resolves.toEqual({ action: 'skipped' });
    expect(w.ledger.records.size).toBe(0);
  });
});

describe('redrive later', () => {
  it('schedules a pending redrive at the decision’s due time', async () => {
    const w = world();
    await expect(carryOut(LATER, FACTS, w.deps)).resolves.toEqual({ action: 'scheduled', dueAt: T0 + 30_000 });
    expect(w.ledger.records.get(KEY)).toMatchObject({ state: 'pending', dueAt: T0 + 30_000 });
  });

  it('loses the race to a pending, claimed or settled record', async () => {
    const w = world();
    await carryOut(LATER, FACTS, w.deps);
    await expect(carryOut(LATER, FACTS, w.deps)).resolves.toEqual({ action: 'lost-race', actionDetail: 'this failure is already pending, claimed or done' });
  });
});

describe('redrive now', () => {
  it('claims, calls RedriveExecution with the failure’s clientToken, records it redriven, counts it', async () => {
    const w = world();
    await expect(carryOut(REDRIVE, FACTS, w.deps)).resolves.toEqual({ action: 'redriven', actionDetail: 'redriveCount 0 -> 1' });
    expect(w.sfn.redrives).toEqual([{ executionArn: ARN, clientToken: redriveClientToken(ARN, 0) }]);
    expect(w.ledger.records.get(KEY)).toMatchObject({ state: 'redriven', attempts: 1 });
    expect(w.metrics.sum(METRIC.redrives)).toBe(1);
    expect(w.metrics.points.filter((p) => p.name === METRIC.redriveLatency)).toHaveLength(1);
  });

  it('does not call Step Functions when another invocation holds the claim', async () => {
    const w = world();
    await w.deps.ledger.claim(FACTS, T0, 60_000);
    await expect(carryOut(REDRIVE, FACTS, w.deps)).resolves.toEqual({ action: 'lost-race', actionDetail: 'another invocation claimed this failure first' });
    expect(w.sfn.redrives).toEqual([]);
  });

  it('without failure facts it refuses (a redrive needs a record to claim)', async () => {
    await expect(carryOut(REDRIVE, null, world().deps)).rejects.toThrow('decision redrive without failure facts');
  });

  it('the controller-wide rate refuses a slot: the claim becomes a pending redrive when capacity frees up', async () => {
    const w = world({ redriveGranted: false });
    await expect(carryOut(REDRIVE, FACTS, w.deps)).resolves.toEqual({ action: 'deferred', actionDetail: 'controller redrive rate reached', dueAt: T0 + 1_000 });
    expect(w.sfn.redrives).toEqual([]);
    expect(w.ledger.records.get(KEY)).toMatchObject({ state: 'pending', reason: 'rate-limited', dueAt: T0 + 1_000 });
    expect(w.metrics.sum(METRIC.deferrals, { Reason: 'rate-limited' })).toBe(1);
  });

  it('RedriveExecution refuses for good: recorded as a not-redrivable skip', async () => {
    const w = world({ redrive: (): RedriveResult => ({ kind: 'rejected', errorName: 'ExecutionNotRedrivable', message: 'too old' }) });
    await expect(carryOut(REDRIVE, FACTS, w.deps)).resolves.toEqual({ action: 'rejected', actionDetail: 'ExecutionNotRedrivable: too old' });
    expect(w.ledger.records.get(KEY)).toMatchObject({ state: 'skipped', reason: 'not-redrivable' });
  });

  it('RedriveExecution fails transiently: deferred by transientRetryMs(attempts), counted, logged', async () => {
    const w = world({ redrive: (): RedriveResult => ({ kind: 'transient', errorName: 'ThrottlingException', message: 'slow down' }) });
    await expect(carryOut(REDRIVE, FACTS, w.deps)).resolves.toEqual({ action: 'deferred', actionDetail: 'ThrottlingException after SDK retries', dueAt: T0 + 30_000 });
    expect(w.ledger.records.get(KEY)).toMatchObject({ state: 'pending', reason: 'transient:ThrottlingException', dueAt: T0 + 30_000 });
    expect(w.metrics.sum(METRIC.deferrals, { Reason: 'ThrottlingException' })).toBe(1);
    expect(w.log.lines.map((l) => [l.level, l.message])).toEqual([['warn', 'RedriveExecution failed after SDK retries; deferred']]);
  });

  it('a claim that expired and was retaken during the call: the redrive stands, the retaker’s record is left alone, a warning says so', async () => {
    const w: ReturnType<typeof world> = world({
      redrive: () => {
        // Another invocation takes the (expired) claim over while RedriveExecution is in flight.
        void w.deps.ledger.claim(FACTS, T0 + w.deps.claimTimeoutMs, w.deps.claimTimeoutMs);
        return { kind: 'redriven', redriveDate: T0 };
      },
    });
    await expect(carryOut(REDRIVE, FACTS, w.deps)).resolves.toMatchObject({ action: 'redriven' });
    expect(w.ledger.records.get(KEY)).toMatchObject({ state: 'claimed', attempts: 2 });
    expect(w.log.lines.map((l) => l.message)).toEqual(['claim expired before the redrive was recorded']);
  });
});

describe('transientRetryMs', () => {
  it.each([
    [0, 30_000],
    [1, 30_000],
    [2, 60_000],
    [3, 120_000],
    [7, 1_920_000],
    [8, 3_600_000],
    [1_000, 3_600_000],
  ])('attempt %i waits %i ms (30 s doubling, capped at one hour)', (attempts, ms) => {
    expect(transientRetryMs(attempts)).toBe(ms);
  });
});
