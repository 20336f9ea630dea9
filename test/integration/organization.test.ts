/**
 * One central controller for several member accounts and Regions: each call goes to the
 * right account's endpoint with that account's (assumed-role) credentials, events from
 * unknown accounts are refused, and a forged `account` field cannot redirect anything.
 * Each (account, Region) is its own Step Functions stand-in that only accepts its own
 * account's credentials; role assumption is an injected credential provider.
 */
import { CreateStateMachineCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { type BreakerGroup, heldShard } from '../../contract/breaker';
import { METRIC } from '../../contract/metrics';
import { BREAKER_DEFAULTS } from '../../contract/policy-schema';
import { counterName } from '../../lambda/decide/breaker';
import { parseStatusChange } from '../../lambda/event/status-change';
import { handleStatusChange } from '../../lambda/event-path';
import { sweep } from '../../lambda/reconcile';
import { drain } from '../../lambda/scheduled-drain';
import { releaseGroup } from '../../lambda/breaker/release';
import { MemoryNotifier } from '../../lambda/record/owner-notifier';
import type { FailureFacts } from '../../lambda/record/failure-ledger';
import { InMemoryMetrics, MemoryLog } from '../../lambda/observability/telemetry';
import type { SfnClientFactory } from '../../lambda/act/account-router';
import { UnlimitedRate } from '../../lambda/act/rate-limiter';
import { startLocal, type LocalEnvironment } from '../../local/environment';
import { StepFunctionsStandIn, type StatusChangeEvent } from '../../local/sfn';
import { wire, type Wired } from '../../lambda/wiring';
import { oneStep, OPENS_AT_ONCE } from '../support/local';

const HOME = '999999999999';
const MEMBERS = ['111111111111', '222222222222'];
const REGIONS = ['us-east-1', 'eu-west-1'];
const EXTERNAL_ID = 'org-redrive-7f3c';
const keyFor = (account: string) => `ASIA${account}`;

interface Member {
  readonly account: string;
  readonly region: string;
  readonly standIn: StepFunctionsStandIn;
  readonly endpoint: string;
  readonly client: SFNClient;
}

let env: LocalEnvironment;
let members: Member[];
let deps: Wired;
let roleRequests: Array<{ account: string; roleArn?: string; externalId?: string }>;

beforeAll(async () => {
  env = await startLocal({ detachBus: true });
  members = [];
  for (const account of MEMBERS) {
    for (const region of REGIONS) {
      const standIn = new StepFunctionsStandIn({ accountId: account, region, authorize: (key) => key === keyFor(account) });
      const endpoint = await standIn.listen(0, '127.0.0.1');
      const client = new SFNClient({ region, endpoint, credentials: { accessKeyId: keyFor(account), secretAccessKey: 'x' } });
      members.push({ account, region, standIn, endpoint, client });
    }
  }
  roleRequests = [];
  const factory = factoryOf();
  deps = wire(
    {
      ...env.config,
      organization: { homeAccount: HOME, memberAccounts: MEMBERS, memberRoleName: 'AutoRedriveMember', memberExternalId: EXTERNAL_ID, servedRegions: REGIONS },
    },
    // Rates are not what this test is about.
    { log: new MemoryLog(), metrics: new InMemoryMetrics(), dynamodb: env.dynamodb, sfnClientFactory: factory, redriveRate: new UnlimitedRate() },
  );
  await env.putPolicy({ stateMachine: '*', intervalSeconds: 0, maxRedrives: 1, breaker: OPENS_AT_ONCE });
});

// The "STS" of this test: a role ARN in account X with the right external id yields X's credentials.
function factoryOf(): SfnClientFactory {
  return ({ account, region, roleArn, externalId }) => {
    roleRequests.push({ account, roleArn, externalId });
    const target = members.find((m) => m.account === account && m.region === region);
    const roleAccount = /^arn:aws:iam::(\d{12}):role\/AutoRedriveMember$/.exec(roleArn ?? '')?.[1];
    const credentials = roleAccount && externalId === EXTERNAL_ID ? { accessKeyId: keyFor(roleAccount), secretAccessKey: 'x' } : { accessKeyId: 'AKIAHOME', secretAccessKey: 'x' };
    return new SFNClient({ region, endpoint: target?.endpoint ?? env.endpoints.sfn, credentials });
  };
}

afterAll(async () => {
  for (const m of members) {
    m.client.destroy();
    await m.standIn.close();
  }
  await env.stop();
});

async function failedExecution(m: Member, name: string): Promise<StatusChangeEvent> {
  m.standIn.setBehaviour('arn:aws:lambda:::function:x', { kind: 'fail-times', times: 1, error: 'States.TaskFailed' });
  const sm = await m.client.send(new CreateStateMachineCommand({ name: 'orders', definition: oneStep('arn:aws:lambda:::function:x'), roleArn: `arn:aws:iam::${m.account}:role/sfn` }));
  const ex = await m.client.send(new StartExecutionCommand({ stateMachineArn: sm.stateMachineArn!, name }));
  await m.standIn.idle();
  return m.standIn.events.find((e) => e.detail.executionArn === ex.executionArn && e.detail.status === 'FAILED')!;
}

const member = (account: string, region: string) => members.find((m) => m.account === account && m.region === region)!;

test('events from two member accounts in two Regions are redriven through the right role and endpoint', async () => {
  const a = member('111111111111', 'us-east-1');
  const b = member('222222222222', 'eu-west-1');
  const eventA = await failedExecution(a, 'a-1');
  const eventB = await failedExecution(b, 'b-1');
  expect((await handleStatusChange(eventA, deps)).action).toBe('redriven');
  expect((await handleStatusChange(eventB, deps)).action).toBe('redriven');
  expect(a.standIn.redrives.map((r) => r.executionArn)).toEqual([eventA.detail.executionArn]);
  expect(b.standIn.redrives.map((r) => r.executionArn)).toEqual([eventB.detail.executionArn]);
  // Never account A's credentials in account B's endpoint (or anyone else's).
  for (const m of members) {
    expect(m.standIn.calls.filter((c) => c.outcome === 'AccessDeniedException')).toEqual([]);
    expect(new Set(m.standIn.calls.map((c) => c.accessKeyId))).toEqual(new Set(m.standIn.calls.length ? [keyFor(m.account)] : []));
  }
  expect(roleRequests).toEqual(
    expect.arrayContaining([
      { account: '111111111111', roleArn: 'arn:aws:iam::111111111111:role/AutoRedriveMember', externalId: EXTERNAL_ID },
      { account: '222222222222', roleArn: 'arn:aws:iam::222222222222:role/AutoRedriveMember', externalId: EXTERNAL_ID },
    ]),
  );
});

test('an event from an unknown account is refused and recorded', async () => {
  const a = member('111111111111', 'eu-west-1');
  const event = await failedExecution(a, 'unknown-1');
  const stranger = JSON.parse(JSON.stringify(event).replaceAll('111111111111', '333333333333'));
  const before = members.map((m) => m.standIn.calls.length);
  const outcome = await handleStatusChange(stranger, deps);
  expect(outcome.decision).toMatchObject({ decision: 'skip', reason: 'unknown-account' });
  expect(members.map((m) => m.standIn.calls.length)).toEqual(before);
  const trail = await deps.audit.trail(stranger.detail.executionArn);
  expect(trail.map((t) => t.reason)).toEqual(['unknown-account']);
});

test("a forged account field cannot point the controller at another account's execution", async () => {
  const b = member('222222222222', 'us-east-1');
  const event = await failedExecution(b, 'forged-1');
  // Claims to come from account 111 while naming 222's execution: refused as malformed.
  const forged = { ...event, account: '111111111111' };
  const outcome = await handleStatusChange(forged, deps);
  expect(outcome.decision).toMatchObject({ decision: 'skip', reason: 'malformed-event' });
  expect(outcome.decision.detail).toContain('account: does not match detail.executionArn');
  expect(b.standIn.redrives).toHaveLength(0);
  expect(member('111111111111', 'us-east-1').standIn.redrives.map((r) => r.executionArn)).not.toContain(event.detail.executionArn);
});

test('the reconciliation sweep covers every member account and Region', async () => {
  const missed = await Promise.all(members.map((m) => failedExecution(m, `missed-${m.region}`)));
  const report = await sweep(deps, { since: 0 });
  for (const [i, m] of members.entries()) {
    await m.standIn.idle();
    expect(m.standIn.redrives.map((r) => r.executionArn)).toContain(missed[i].detail.executionArn);
  }
  expect(report.stateMachines).toBe(4);
  for (const m of members) expect(m.standIn.calls.filter((c) => c.outcome === 'AccessDeniedException')).toEqual([]);
});

describe('failures recorded in an account or Region no longer served', () => {
  // The same tables, after a redeploy that dropped account 111111111111 and Region eu-west-1.
  let narrowed: Wired;
  let notifier: MemoryNotifier;
  let metrics: InMemoryMetrics;
  const settings = { ...BREAKER_DEFAULTS, threshold: 1, ...OPENS_AT_ONCE };

  beforeAll(() => {
    notifier = new MemoryNotifier();
    metrics = new InMemoryMetrics();
    narrowed = wire(
      {
        ...env.config,
        organization: { homeAccount: HOME, memberAccounts: ['222222222222'], memberRoleName: 'AutoRedriveMember', memberExternalId: EXTERNAL_ID, servedRegions: ['us-east-1'] },
      },
      { log: new MemoryLog(), metrics, dynamodb: env.dynamodb, notifier, sfnClientFactory: factoryOf(), redriveRate: new UnlimitedRate() },
    );
  });

  function factsOf(event: StatusChangeEvent): FailureFacts {
    const parsed = parseStatusChange(event);
    if (!parsed.ok) throw new Error('fixture event does not parse');
    const e = parsed.event;
    return {
      executionArn: e.executionArn,
      redriveCount: e.redriveCount ?? 0,
      stateMachineArn: e.stateMachineArn,
      account: e.account,
      region: e.region,
      name: e.name,
      status: e.status,
      startDate: e.startDate,
      stopDate: e.stopDate,
      errorName: e.error,
      cause: e.cause,
      policyKey: '*',
    };
  }

  /** A failure held by its group's breaker (recorded while its account and Region were served), the breaker now releasing. */
  async function heldAndReleasing(m: Member, name: string): Promise<{ facts: FailureFacts; group: BreakerGroup }> {
    const facts = factsOf(await failedExecution(m, name));
    const group = { stateMachineArn: facts.stateMachineArn, errorName: facts.errorName };
    const now = Date.now();
    expect(await deps.ledger.hold(facts, 'breaker-open', heldShard(group), now)).toBe(true);
    await deps.breakers.count(group, [counterName(now, settings, 'r')], settings);
    const counted = await deps.breakers.count(group, [counterName(now, settings, 'r')], settings);
    const opened = await deps.breakers.transition(group, { kind: 'failure', at: now, executionArn: facts.executionArn, redriveCount: 0 }, settings, counted);
    await deps.breakers.transition(group, { kind: 'closed-by-hand', at: now }, settings, opened.step.state);
    return { facts, group };
  }

  test('a release skips them once as account-not-served (audit, owner event, metric) and releases the others', async () => {
    const gone = await heldAndReleasing(member('111111111111', 'us-east-1'), 'gone-account-1');
    const goneRegion = await heldAndReleasing(member('222222222222', 'eu-west-1'), 'gone-region-1');
    const served = await heldAndReleasing(member('222222222222', 'us-east-1'), 'served-1');
    const release = (group: BreakerGroup) => releaseGroup(group, narrowed, { deadline: Date.now() + 60_000, concurrency: 2, settings });

    for (const { facts, group } of [gone, goneRegion]) {
      const report = await release(group);
      // Once, not once per pass until the deadline.
      expect(report.outcomes.map((o) => [o.executionArn, o.decision.reason])).toEqual([[facts.executionArn, 'account-not-served']]);
      expect(await narrowed.ledger.get(facts.executionArn, 0)).toMatchObject({ state: 'skipped', reason: 'account-not-served' });
      expect((await narrowed.audit.trail(facts.executionArn)).map((t) => t.reason)).toContain('account-not-served');
      expect(await narrowed.ledger.heldCount(heldShard(group))).toBe(0);
      // The next drain run has nothing left of it.
      expect((await release(group)).outcomes).toEqual([]);
    }
    expect(notifier.events.map((e) => [e.detail.executionArn, e.detailType, e.detail.reason])).toEqual([
      [gone.facts.executionArn, 'Auto Redrive Skipped', 'account-not-served'],
      [goneRegion.facts.executionArn, 'Auto Redrive Skipped', 'account-not-served'],
    ]);
    expect(metrics.sum(METRIC.decisions, { Reason: 'account-not-served' })).toBe(2);

    const report = await release(served.group);
    expect(report.outcomes.map((o) => o.action)).toEqual(['redriven']);
    expect(member('222222222222', 'us-east-1').standIn.redrives.map((r) => r.executionArn)).toContain(served.facts.executionArn);
    // Nothing was sent to the accounts and Regions no longer served.
    for (const f of [gone.facts, goneRegion.facts]) expect(members.flatMap((m) => m.standIn.redrives.map((r) => r.executionArn))).not.toContain(f.executionArn);
  });

  test('an open breaker of a state machine no longer served stops holding; the drain settles its held failures once', async () => {
    const facts = factsOf(await failedExecution(member('111111111111', 'us-east-1'), 'gone-open-1'));
    const group = { stateMachineArn: facts.stateMachineArn, errorName: facts.errorName };
    const now = Date.now();
    expect(await deps.ledger.hold(facts, 'breaker-open', heldShard(group), now)).toBe(true);
    await deps.breakers.count(group, [counterName(now, settings, 'r')], settings);
    const counted = await deps.breakers.count(group, [counterName(now, settings, 'r')], settings);
    await deps.breakers.transition(group, { kind: 'failure', at: now, executionArn: facts.executionArn, redriveCount: 0 }, settings, counted);
    expect((await deps.breakers.read(group)).status).toBe('open');
    const before = members.map((m) => m.standIn.calls.length);
    const report = await drain(narrowed);
    expect(report.breakers?.released.filter((o) => o.executionArn === facts.executionArn).map((o) => o.decision.reason)).toEqual(['account-not-served']);
    expect(await narrowed.ledger.get(facts.executionArn, 0)).toMatchObject({ state: 'skipped', reason: 'account-not-served' });
    expect(await narrowed.breakers.read(group)).toMatchObject({ status: 'releasing', closeReason: 'breaker-disabled' });
    // No probe, no call into the account no longer served.
    expect(members.map((m) => m.standIn.calls.length)).toEqual(before);
  });

  test('the drain settles a pending redrive of an account no longer served instead of retrying it every run', async () => {
    const facts = factsOf(await failedExecution(member('111111111111', 'eu-west-1'), 'gone-pending-1'));
    expect(await deps.ledger.schedule(facts, Date.now() - 1000, Date.now() - 2000)).toBe(true);
    const report = await drain(narrowed, { breakers: { releaseBudgetMs: 0 } });
    expect(report.outcomes.filter((o) => o.executionArn === facts.executionArn).map((o) => o.decision.reason)).toEqual(['account-not-served']);
    expect(await narrowed.ledger.get(facts.executionArn, 0)).toMatchObject({ state: 'skipped', reason: 'account-not-served' });
    const again = await drain(narrowed, { breakers: { releaseBudgetMs: 0 } });
    expect(again.outcomes.filter((o) => o.executionArn === facts.executionArn)).toEqual([]);
  });

  test('a parked failure (skipped paused over a pending redrive) is settled once when reconsidered, not met again on every run', async () => {
    const goneAccount = await failedExecution(member('111111111111', 'us-east-1'), 'gone-parked-1');
    const goneRegion = await failedExecution(member('222222222222', 'eu-west-1'), 'gone-parked-region-1');
    const served = await failedExecution(member('222222222222', 'us-east-1'), 'served-parked-1');
    const gone = [goneAccount.detail.executionArn, goneRegion.detail.executionArn];
    // Recorded while served: a pending redrive, due; its event comes again while the controller is paused.
    for (const event of [goneAccount, goneRegion, served]) expect(await deps.ledger.schedule(factsOf(event), Date.now() - 1000, Date.now() - 2000)).toBe(true);
    await deps.killSwitch.pause('INC-9: org change', 'ops@example.com', Date.now());
    deps.policies.invalidate();
    try {
      for (const event of [goneAccount, goneRegion, served]) expect((await handleStatusChange(event, deps)).decision.reason).toBe('paused');
    } finally {
      await deps.killSwitch.resume();
      deps.policies.invalidate();
      narrowed.policies.invalidate();
    }
    for (const arn of gone) expect(await narrowed.ledger.get(arn, 0)).toMatchObject({ state: 'skipped', reason: 'paused', dueShard: expect.stringMatching(/^PARKED#paused#/) });
    const notified = notifier.events.length;
    const counted = metrics.sum(METRIC.decisions, { Reason: 'account-not-served' });
    const callsBefore = members.map((m) => m.standIn.calls.length);
    const about = (report: Awaited<ReturnType<typeof drain>>, arn: string) =>
      [...report.outcomes, ...report.parked.outcomes, ...(report.breakers?.released ?? [])].filter((o) => o.executionArn === arn).map((o) => o.decision.reason);

    // The drain after the resume reconsiders the parked failures: the ones no longer served are settled.
    const first = await drain(narrowed);
    for (const arn of gone) {
      expect(about(first, arn)).toEqual(['account-not-served']);
      expect(await narrowed.ledger.get(arn, 0)).toMatchObject({ state: 'skipped', reason: 'account-not-served' });
      expect((await narrowed.ledger.get(arn, 0))?.dueShard).toBeUndefined();
      expect((await narrowed.audit.trail(arn)).map((t) => t.reason)).toEqual(['paused', 'account-not-served']);
    }
    expect(notifier.events.slice(notified).map((e) => [e.detail.executionArn, e.detail.reason])).toEqual(gone.map((arn) => [arn, 'account-not-served']));
    expect(metrics.sum(METRIC.decisions, { Reason: 'account-not-served' })).toBe(counted + 2);
    expect(first.parked.outcomes.filter((o) => o.executionArn === served.detail.executionArn).map((o) => o.action)).toEqual(['redriven']);
    // Nothing was sent to the account or Region no longer served.
    for (const m of members.filter((x) => x.account === '111111111111' || x.region === 'eu-west-1')) expect(m.standIn.calls.length).toBe(callsBefore[members.indexOf(m)]);

    // The next run does not meet them again.
    const second = await drain(narrowed);
    for (const arn of gone) {
      expect(about(second, arn)).toEqual([]);
      expect((await narrowed.audit.trail(arn)).map((t) => t.reason)).toEqual(['paused', 'account-not-served']);
    }
    expect(notifier.events.slice(notified)).toHaveLength(2);
  });
});
