/**
 * Fault injection on the local stand-ins (dynalite behind local/fault-proxy.ts, the Step
 * Functions stand-in behind its `fault` hook or the same proxy), and the Lambda killed at
 * every step of one invocation. After every fault the same invariant is checked against
 * the stand-in's own record of RedriveExecution calls (standIn.redrives): the failure is
 * redriven exactly once, none lost, none twice. What the controller does about each kind
 * of fault is in README.md ("Reliability and threat model") ("What the controller does about each fault").
 *
 * test/integration/resilience.test.ts already covers delivery trouble, RedriveExecution
 * throttling/5xx deferrals, two hand-made crashes and DynamoDB refusing connections;
 * this file covers the rest and does the crashes exhaustively.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { RedriveExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import type { ControllerConfig } from '../../lambda/config';
import { SdkStepFunctions } from '../../lambda/act/step-functions';
import { handleStatusChange } from '../../lambda/event-path';
import { drain } from '../../lambda/scheduled-drain';
import { sweep } from '../../lambda/reconcile';
import { InMemoryMetrics, MemoryLog } from '../../lambda/observability/telemetry';
import { MemoryNotifier } from '../../lambda/record/owner-notifier';
import { wire, type Wired } from '../../lambda/wiring';
import { statusChangePattern } from '../../contract/event-pattern';
import { startLocal } from '../../local/environment';
import { LocalEventBus } from '../../local/event-bus';
import { DYNAMODB_FAULTS, type FaultAction, type FaultRule, FaultProxy, startFaultProxy } from '../../local/fault-proxy';
import type { FaultKind, SfnOperation, StatusChangeEvent, StepBehaviour } from '../../local/sfn';
import { createMachine, drainUntilEmpty, failedExecution, FIXTURE_START, FLAKY_LAMBDA, redrivesOf, simEnv, type SimEnv, withFlakyMachine } from '../support/local';
import { type CrashMoment, CrashPlan, crashingDeps, SimulatedCrash } from './support/crash';

jest.setTimeout(60_000);

/** Fails once; the redrive succeeds, so "redriven exactly once" is the whole story. */
const failsOnce: StepBehaviour = { kind: 'fail-times', times: 1, error: 'Lambda.ServiceException', cause: 'downstream 503' };

/** Faults injected, by kind, across the file (printed at the end; quoted in README.md ("Reliability and threat model")). */
const injected = new Map<string, number>();
const tally = (kind: string, n = 1) => injected.set(kind, (injected.get(kind) ?? 0) + n);
const tallyProxy = (proxy: FaultProxy, prefix: string) => {
  for (const [k, n] of Object.entries(proxy.counts())) if (!k.endsWith(':pass')) tally(`${prefix} ${k}`, n);
};

afterAll(() => {
  const rows = [...injected].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `| ${k} | ${n} |`);
  console.log(['faults injected', '| fault | count |', '| --- | --- |', ...rows].join('\n'));
});

// ---- a rig: the controller wired through the fault proxy -----------------------------

interface Rig {
  readonly env: SimEnv;
  /** In front of dynalite; the controller's DynamoDB client talks to it. */
  readonly dynamo: FaultProxy;
  /** In front of the Step Functions stand-in; the controller's SFN client talks to it. */
  readonly sfnProxy: FaultProxy;
  /** The stand-in's own fault hook (throttle / server-error / timeout). */
  sfnFault: (op: SfnOperation) => FaultKind | undefined;
  readonly deps: Wired;
  readonly bus: LocalEventBus;
  readonly log: MemoryLog;
  readonly machine: string;
  stop(): Promise<void>;
}

async function rig(options: { sfnClient?: ConstructorParameters<typeof SFNClient>[0]; config?: Partial<ControllerConfig> } = {}): Promise<Rig> {
  const hook: { fault: (op: SfnOperation) => FaultKind | undefined } = { fault: () => undefined };
  const env = await simEnv(FIXTURE_START, { detachBus: true, standIn: { fault: (op) => hook.fault(op) } });
  const dynamo = await startFaultProxy(env.endpoints.dynamodb);
  const sfnProxy = await startFaultProxy(env.endpoints.sfn);
  const dynamodb = new DynamoDBClient({ endpoint: dynamo.endpoint });
  const sfn = new SFNClient({ endpoint: sfnProxy.endpoint, ...options.sfnClient });
  const log = new MemoryLog();
  const deps = wire(
    { ...env.config, ...options.config },
    { log, metrics: new InMemoryMetrics(), clock: env.clock.now, sleep: env.clock.sleep, dynamodb, stepFunctions: new SdkStepFunctions(sfn), notifier: new MemoryNotifier() },
  );
  const bus = new LocalEventBus(statusChangePattern(), (e) => handleStatusChange(e, deps));
  // Many executions failing with one error would open the outage breaker and be held (tests in
  // test/integration/breaker.test.ts); this test is about DynamoDB and Step Functions faults, so the breaker is off.
  await env.putPolicy({ stateMachine: '*', breaker: { enabled: false }, intervalSeconds: 0, maxRedrives: 3 });
  const machine = await createMachine(env, 'flaky', FLAKY_LAMBDA, failsOnce);
  const r: Rig = {
    env,
    dynamo: dynamo.proxy,
    sfnProxy: sfnProxy.proxy,
    get sfnFault() {
      return hook.fault;
    },
    set sfnFault(f) {
      hook.fault = f;
    },
    deps,
    bus,
    log,
    machine,
    async stop() {
      tallyProxy(dynamo.proxy, 'DynamoDB');
      tallyProxy(sfnProxy.proxy, 'Step Functions (proxy)');
      dynamodb.destroy();
      sfn.destroy();
      await dynamo.proxy.close();
      await sfnProxy.proxy.close();
      await env.stop();
    },
  };
  return r;
}

/** A rig for the length of `body`, stopped (and its faults tallied) whatever happens. */
async function withRig(options: Parameters<typeof rig>[0], body: (r: Rig) => Promise<void>): Promise<void> {
  const r = await rig(options);
  try {
    await body(r);
  } finally {
    await r.stop();
  }
}

/** A fault on every request whose operation is in `ops` (all operations if empty). */
const on = (ops: string[], action: FaultAction): FaultRule => ({ op }) => (ops.length === 0 || ops.includes(op) ? action : undefined);

/** The request is applied but its response lost, for the first `op` request whose body holds `marker`. */
function dropFirstResponse(op: string, marker = ''): FaultRule {
  let dropped = 0;
  return (request) => (request.op === op && request.body.includes(marker) && dropped++ === 0 ? { kind: 'drop-response' } : undefined);
}

/** Deterministic pseudo-random numbers in [0, 1). */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0) / 2 ** 32);
}

// ---- DynamoDB -------------------------------------------------------------------------

describe('DynamoDB faults (fault proxy in front of dynalite)', () => {
  test('unavailable (500 on every call): the handler throws, the retries fail, the event is parked in the DLQ; replayed after recovery it is redriven once', async () => {
    await withRig({}, async (r) => {
      const { arn, event } = await failedExecution(r.env, r.machine, 'ddb-500');
      r.dynamo.rule = on([], DYNAMODB_FAULTS.internalServerError);
      r.bus.put(event);
      await r.bus.settled();
      expect(r.bus.deadLetters).toHaveLength(1);
      expect(r.bus.deadLetters[0].error).toMatch(/InternalServerError/);
      expect(r.env.standIn.redrives).toHaveLength(0);

      r.dynamo.rule = () => undefined;
      const outcome = await handleStatusChange(r.bus.deadLetters[0].event, r.deps, 'replay');
      expect(outcome.action).toBe('redriven');
      await handleStatusChange(r.bus.deadLetters[0].event, r.deps, 'replay'); // replayed twice by mistake
      expect(redrivesOf(r.env, arn)).toBe(1);
    });
  });

  test('throttled: ProvisionedThroughputExceeded on the first attempt of every call is absorbed by SDK retries; every failure redriven once, nothing parked', async () => {
    await withRig({}, async (r) => {
      r.dynamo.rule = ({ attempt }) => (attempt === 1 ? DYNAMODB_FAULTS.throughputExceeded : undefined);
      const failures = await Promise.all(Array.from({ length: 8 }, (_, i) => failedExecution(r.env, r.machine, `throttled-${i}`)));
      for (const f of failures) r.bus.put(f.event);
      await r.bus.settled();
      await drainUntilEmpty(r.env, r.deps);
      expect(r.bus.deadLetters).toHaveLength(0);
      for (const f of failures) expect(redrivesOf(r.env, f.arn)).toBe(1);
      expect(r.dynamo.faultsInjected()).toBeGreaterThan(20);
    });
  });

  test('throttled writes only (UpdateItem, PutItem): reads succeed, the claim cannot be written, the event is parked, nothing redriven; replay redrives once', async () => {
    await withRig({}, async (r) => {
      const { arn, event } = await failedExecution(r.env, r.machine, 'writes-throttled');
      r.dynamo.rule = on(['UpdateItem', 'PutItem'], DYNAMODB_FAULTS.throughputExceeded);
      r.bus.put(event);
      await r.bus.settled();
      expect(r.bus.deadLetters).toHaveLength(1);
      expect(r.bus.deadLetters[0].error).toMatch(/ProvisionedThroughputExceeded/);
      expect(r.env.standIn.redrives).toHaveLength(0);
      expect(await r.env.deps.ledger.get(arn, 0)).toBeUndefined();
      r.dynamo.rule = () => undefined;
      await handleStatusChange(r.bus.deadLetters[0].event, r.deps, 'replay');
      expect(redrivesOf(r.env, arn)).toBe(1);
    });
  });

  test('decision counter write fails after the redrive: the event is retried; the ledger says redriven, the trail has the redrive (stored with the outcome, one write) and the retry; no retry redrives again', async () => {
    await withRig({}, async (r) => {
      const { arn, event } = await failedExecution(r.env, r.machine, 'counter-down');
      r.dynamo.rule = (request) => (request.op === 'UpdateItem' && request.body.includes('STATS#') ? DYNAMODB_FAULTS.internalServerError : undefined);
      r.bus.put(event);
      await r.bus.settled();
      expect(redrivesOf(r.env, arn)).toBe(1);
      expect((await r.env.deps.ledger.get(arn, 0))?.state).toBe('redriven');
      // The first invocation threw at the counter write; Lambda's retry found the failure redriven.
      expect(r.bus.deadLetters).toHaveLength(0);
      // Both at the same (simulated) millisecond: compared as a set.
      expect((await r.env.deps.audit.trail(arn)).map((e) => `${e.reason}:${e.action}`).sort()).toEqual(['already-handled:skipped', 'no-delay:redriven']);
    });
  });

  test('dropped connections (30% of requests, before they reach DynamoDB): SDK retries and Lambda retries recover; every failure redriven once', async () => {
    await withRig({}, async (r) => {
      const random = prng(42);
      r.dynamo.rule = () => (random() < 0.3 ? { kind: 'drop' } : undefined);
      const failures = await Promise.all(Array.from({ length: 10 }, (_, i) => failedExecution(r.env, r.machine, `dropped-${i}`)));
      for (const f of failures) r.bus.put(f.event);
      await r.bus.settled();
      r.dynamo.rule = () => undefined;
      // Whatever the retries could not save is in the DLQ: replay it, as an operator would.
      for (const d of r.bus.deadLetters) await handleStatusChange(d.event, r.deps, 'replay');
      r.env.clock.advanceTo(r.env.clock.now() + r.deps.claimTimeoutMs + 1000);
      await drainUntilEmpty(r.env, r.deps);
      for (const f of failures) expect(redrivesOf(r.env, f.arn)).toBe(1);
      expect(r.dynamo.faultsInjected()).toBeGreaterThan(10);
    });
  });

  test('lost response of the claim write (applied, unanswered): the SDK retry finds a record, so the ledger is read: a live claim, nothing is redriven now, the drain redrives once after the claim timeout', async () => {
    await withRig({}, async (r) => {
      const { arn, event } = await failedExecution(r.env, r.machine, 'claim-unanswered');
      // A fresh failure's claim: the conditional PutItem that creates the record (claimNew).
      r.dynamo.rule = dropFirstResponse('PutItem', 'claimToken');
      const outcome = await handleStatusChange(event, r.deps);
      expect([outcome.decision.reason, outcome.action]).toEqual(['already-handled', 'skipped']);
      expect(r.env.standIn.redrives).toHaveLength(0);
      expect((await r.env.deps.ledger.get(arn, 0))?.state).toBe('claimed');
      // A redelivery inside the claim timeout is told someone else is on it.
      expect((await handleStatusChange(event, r.deps)).decision.reason).toBe('already-handled');
      r.env.clock.advanceTo(r.env.clock.now() + r.deps.claimTimeoutMs + 1000);
      const report = await drain(r.deps);
      expect(report.outcomes.map((o) => [o.decision.reason, o.action])).toEqual([['retry-abandoned-claim', 'redriven']]);
      await drainUntilEmpty(r.env, r.deps);
      expect(redrivesOf(r.env, arn)).toBe(1);
    });
  });

  test('lost response of "mark redriven": the retry finds the record already redriven; one redrive, record redriven', async () => {
    await withRig({}, async (r) => {
      const { arn, event } = await failedExecution(r.env, r.machine, 'mark-unanswered');
      r.dynamo.rule = dropFirstResponse('UpdateItem', '"redriven"');
      const outcome = await handleStatusChange(event, r.deps);
      expect(outcome.action).toBe('redriven');
      expect(r.log.lines.some((l) => l.message.startsWith('claim expired before the redrive was recorded'))).toBe(true);
      expect((await r.env.deps.ledger.get(arn, 0))?.state).toBe('redriven');
      await drainUntilEmpty(r.env, r.deps);
      expect(redrivesOf(r.env, arn)).toBe(1);
    });
  });
});

describe('DynamoDB slow (real clock)', () => {
  test('every call delayed 100–300 ms: all failures redriven once, none deferred by the rate limiter', async () => {
    const env = await startLocal({ detachBus: true });
    const proxy = await startFaultProxy(env.endpoints.dynamodb);
    const dynamodb = new DynamoDBClient({ endpoint: proxy.endpoint });
    try {
      const random = prng(7);
      proxy.proxy.rule = () => ({ kind: 'delay', ms: 100 + Math.floor(random() * 200) });
      const deps = wire(env.config, { log: new MemoryLog(), metrics: new InMemoryMetrics(), dynamodb, notifier: new MemoryNotifier() });
      // Many executions failing with one error would open the outage breaker and be held (tests in
      // test/integration/breaker.test.ts); this test is about slow DynamoDB, so the breaker is off.
      await env.putPolicy({ stateMachine: '*', breaker: { enabled: false }, intervalSeconds: 0 });
      const machine = await createMachine(env, 'flaky', FLAKY_LAMBDA, failsOnce);
      const failures = await Promise.all(Array.from({ length: 6 }, (_, i) => failedExecution(env, machine, `slow-${i}`)));
      const outcomes = await Promise.all(failures.map((f) => handleStatusChange(f.event, deps)));
      expect(outcomes.map((o) => o.action)).toEqual(failures.map(() => 'redriven'));
      for (const f of failures) expect(redrivesOf(env, f.arn)).toBe(1);
    } finally {
      tallyProxy(proxy.proxy, 'DynamoDB');
      dynamodb.destroy();
      await proxy.proxy.close();
      await env.stop();
    }
  });
});

// ---- Step Functions ---------------------------------------------------------------------

describe('Step Functions faults', () => {
  test('5xx on every RedriveExecution: deferred with a growing delay while it lasts, then redriven once', async () => {
    await withRig({ sfnClient: { maxAttempts: 1 } }, async (r) => {
      r.sfnFault = (op) => (op === 'RedriveExecution' ? 'server-error' : undefined);
      const { arn, event } = await failedExecution(r.env, r.machine, 'sfn-5xx');
      await handleStatusChange(event, r.deps);
      const delays: number[] = [];
      for (let i = 0; i < 4; i++) {
        const rec = await r.env.deps.ledger.get(arn, 0);
        expect(rec?.state).toBe('pending');
        delays.push(rec!.dueAt! - r.env.clock.now());
        r.env.clock.advanceTo(rec!.dueAt!);
        await drain(r.deps);
      }
      // Each deferral waits longer than the one before.
      for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeGreaterThan(delays[i - 1]);
      expect(r.env.standIn.redrives).toHaveLength(0);
      tally('Step Functions RedriveExecution ServiceUnavailable', r.env.standIn.calls.filter((c) => c.outcome === 'ServiceUnavailable').length);
      r.sfnFault = () => undefined;
      await drainUntilEmpty(r.env, r.deps);
      expect(redrivesOf(r.env, arn)).toBe(1);
    });
  });

  test('DescribeExecution throttled: a stale event goes to the DLQ (nothing decided blind), the drain skips the record this run and keeps going; both recover to one redrive', async () => {
    await withRig({ sfnClient: { maxAttempts: 2 } }, async (r) => {
      const late = await failedExecution(r.env, r.machine, 'stale-throttled');
      const pending = await failedExecution(r.env, r.machine, 'pending-throttled');
      // A pending redrive for the second one (as if deferred earlier).
      await r.env.putPolicy({ stateMachine: '*', intervalSeconds: 60, jitter: 'NONE' });
      r.deps.policies.invalidate();
      expect((await handleStatusChange(pending.event, r.deps)).action).toBe('scheduled');
      // The first one's event arrives 10 minutes late: it must be checked first.
      r.env.clock.advanceTo(r.env.clock.now() + 10 * 60_000);
      r.sfnFault = (op) => (op === 'DescribeExecution' ? 'throttle' : undefined);
      r.bus.put(late.event);
      await r.bus.settled();
      expect(r.bus.deadLetters).toHaveLength(1);
      expect(r.bus.deadLetters[0].error).toMatch(/ThrottlingException/);
      const report = await drain(r.deps);
      expect(report.outcomes).toHaveLength(0);
      expect(r.log.lines.some((l) => l.message.startsWith('pending redrive not carried out this run'))).toBe(true);
      expect(r.env.standIn.redrives).toHaveLength(0);
      tally('Step Functions DescribeExecution ThrottlingException', r.env.standIn.calls.filter((c) => c.outcome === 'ThrottlingException').length);

      r.sfnFault = () => undefined;
      await handleStatusChange(r.bus.deadLetters[0].event, r.deps, 'replay');
      await drainUntilEmpty(r.env, r.deps);
      expect(redrivesOf(r.env, late.arn)).toBe(1);
      expect(redrivesOf(r.env, pending.arn)).toBe(1);
    });
  });

  test('timeouts: requestTimeout alone does not end a hung call in this SDK; with throwOnRequestTimeout the redrive is deferred, then done once', async () => {
    // Without throwOnRequestTimeout, @smithy/node-http-handler only logs a warning when
    // requestTimeout passes: a hung call would run into the Lambda timeout instead (a
    // crash at that step, covered below).
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const standIn = await simEnv(FIXTURE_START, { detachBus: true, standIn: { fault: () => 'timeout' } });
    const lax = new SFNClient({ endpoint: standIn.endpoints.sfn, requestHandler: { requestTimeout: 200 }, maxAttempts: 1 });
    try {
      const result = await Promise.race([
        new SdkStepFunctions(lax).redrive('arn:aws:states:us-east-1:123456789012:execution:x:y', 'token').then(
          () => 'answered',
          () => 'failed',
        ),
        new Promise((resolve) => setTimeout(() => resolve('still waiting'), 1500)),
      ]);
      expect(result).toBe('still waiting');
      tally('Step Functions RedriveExecution timeout (held)', 1);
    } finally {
      lax.destroy();
      await standIn.stop();
      warn.mockRestore();
    }

    const r = await rig({ sfnClient: { requestHandler: { requestTimeout: 200, throwOnRequestTimeout: true }, maxAttempts: 2 } });
    const quiet = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const { arn, event } = await failedExecution(r.env, r.machine, 'sfn-timeout');
      r.sfnFault = (op) => (op === 'RedriveExecution' ? 'timeout' : undefined);
      const outcome = await handleStatusChange(event, r.deps);
      expect(outcome).toMatchObject({ action: 'deferred', actionDetail: expect.stringContaining('TimeoutError') });
      tally('Step Functions RedriveExecution timeout (held)', r.env.standIn.calls.filter((c) => c.outcome === 'timeout').length);
      r.sfnFault = () => undefined;
      await drainUntilEmpty(r.env, r.deps);
      expect(redrivesOf(r.env, arn)).toBe(1);
    } finally {
      quiet.mockRestore();
      await r.stop();
    }
  });

  test('lost RedriveExecution response (done, unanswered): the SDK retry carries the same clientToken and is answered idempotently; one redrive', async () => {
    await withRig({ sfnClient: { maxAttempts: 3 } }, async (r) => {
      const { arn, event } = await failedExecution(r.env, r.machine, 'redrive-unanswered');
      r.sfnProxy.rule = dropFirstResponse('RedriveExecution');
      const outcome = await handleStatusChange(event, r.deps);
      expect(outcome.action).toBe('redriven');
      const attempts = r.env.standIn.calls.filter((c) => c.op === 'RedriveExecution');
      expect(attempts).toHaveLength(2);
      expect(new Set(attempts.map((c) => c.params.clientToken)).size).toBe(1);
      await drainUntilEmpty(r.env, r.deps);
      expect(redrivesOf(r.env, arn)).toBe(1);
    });
  });

  test('lost RedriveExecution response with no SDK retry: deferred as transient; the drain sees redriveCount moved on and records it, no second redrive', async () => {
    await withRig({ sfnClient: { maxAttempts: 1 } }, async (r) => {
      const { arn, event } = await failedExecution(r.env, r.machine, 'redrive-unanswered-once');
      r.sfnProxy.rule = on(['RedriveExecution'], { kind: 'drop-response' });
      const outcome = await handleStatusChange(event, r.deps);
      expect(outcome.action).toBe('deferred');
      r.sfnProxy.rule = () => undefined;
      // 20 minutes on: the clientToken no longer dedupes; only the ledger and DescribeExecution can.
      r.env.clock.advanceTo(r.env.clock.now() + 20 * 60_000);
      await drainUntilEmpty(r.env, r.deps);
      expect(redrivesOf(r.env, arn)).toBe(1);
      expect(await r.env.deps.ledger.get(arn, 0)).toMatchObject({ state: 'skipped', reason: 'stale-event' });
    });
  });
});

// ---- lost events ------------------------------------------------------------------------------

describe('lost events', () => {
  test('a stray RUNNING event (rule misconfigured) does not hide the later failure of the same run from the reconciliation sweep', async () => {
    await withFlakyMachine(failsOnce, { intervalSeconds: 0 }, async (env, machine) => {
      const { arn } = await failedExecution(env, machine, 'stray-running');
      const running = env.standIn.events.find((e) => e.detail.executionArn === arn && e.detail.status === 'RUNNING')!;
      // The RUNNING event reaches the controller; the FAILED event of the same run is lost.
      expect((await handleStatusChange(structuredClone(running), env.deps)).decision.reason).toBe('status-not-covered');
      const report = await sweep(env.deps, { since: FIXTURE_START - 3_600_000 });
      await env.standIn.idle();
      expect(report.unknownToLedger).toBe(1);
      expect(redrivesOf(env, arn)).toBe(1);
    });
  });
});

// ---- killed at every step -------------------------------------------------------------------

interface CrashScenario {
  readonly name: string;
  /** Sets up one failure and returns what to run with the crashing dependencies. */
  prepare(env: SimEnv, machine: string, name: string): Promise<{
    arn: string;
    event: StatusChangeEvent;
    run: (deps: Wired) => Promise<unknown>;
    /** The failure the controller redrives (its redriveCount). @default 0 */
    count?: number;
    /** Redrives of the execution in all, by hand included. @default 1 */
    redrives?: number;
  }>;
}

const TWICE_LAMBDA = 'arn:aws:lambda:us-east-1:123456789012:function:fails-twice';

const scenarios: CrashScenario[] = [
  {
    name: 'event path, redrive at once',
    async prepare(env, machine, name) {
      const f = await failedExecution(env, machine, name);
      return { ...f, run: (deps) => handleStatusChange(f.event, deps) };
    },
  },
  {
    name: 'event path, late event (DescribeExecution first)',
    async prepare(env, machine, name) {
      const f = await failedExecution(env, machine, name);
      env.clock.advanceTo(env.clock.now() + 6 * 60_000);
      return { ...f, run: (deps) => handleStatusChange(f.event, deps) };
    },
  },
  {
    // The fresh claim finds a record (an earlier skip): the ledger is read, then the usual claim.
    name: 'event path, redelivered after a skip while paused',
    async prepare(env, machine, name) {
      const f = await failedExecution(env, machine, name);
      await env.deps.killSwitch.pause('crash matrix', 'test', env.clock.now());
      env.deps.policies.invalidate();
      expect((await handleStatusChange(structuredClone(f.event), env.deps)).decision.reason).toBe('paused');
      await env.deps.killSwitch.resume();
      env.deps.policies.invalidate();
      return { ...f, run: (deps) => handleStatusChange(f.event, deps) };
    },
  },
  {
    // Redriven by hand before its event arrived, failed again: the later failure's record
    // comes with a superseded record 0 (failure-ledger.ts), then the usual claim.
    name: 'event path, second failure after a redrive by hand',
    async prepare(env, _machine, name) {
      const machine = await createMachine(env, `twice-${name}`, TWICE_LAMBDA, { kind: 'fail-times', times: 2, error: 'Lambda.ServiceException' });
      const first = await failedExecution(env, machine, name);
      await env.sfn.send(new RedriveExecutionCommand({ executionArn: first.arn }));
      await env.standIn.idle();
      const event = structuredClone([...env.standIn.events].reverse().find((e) => e.detail.executionArn === first.arn && e.detail.status === 'FAILED')!);
      expect(event.detail.redriveCount).toBe(1);
      return { arn: first.arn, event, count: 1, redrives: 2, run: (deps) => handleStatusChange(event, deps) };
    },
  },
  {
    name: 'drain path, scheduled redrive come due',
    async prepare(env, machine, name) {
      const f = await failedExecution(env, machine, name);
      await env.putPolicy({ stateMachine: '*', intervalSeconds: 60, jitter: 'NONE' });
      expect((await handleStatusChange(f.event, env.deps)).action).toBe('scheduled');
      await env.putPolicy({ stateMachine: '*', intervalSeconds: 0 });
      env.clock.advanceTo(env.clock.now() + 61_000);
      return { ...f, run: (deps) => drain(deps) };
    },
  },
];

type RecoveryOrder = 'retry, then drain' | 'late redelivery first';

/**
 * After a crash: what Lambda, EventBridge and the schedule do next, with a fresh process
 * each time. Two orders: the usual one (Lambda's retry within the claim, then the drain
 * after the claim timeout), and a redelivery that lands just after the claim timeout and
 * before any drain, while the event still looks fresh (no DescribeExecution): then only
 * the claim and the clientToken stand between the retry and a second redrive.
 */
async function recover(env: SimEnv, event: StatusChangeEvent, order: RecoveryOrder): Promise<void> {
  const healthy = env.deps;
  healthy.policies.invalidate();
  if (order === 'retry, then drain') {
    // Lambda's async retry of the failed invocation, about a minute later.
    env.clock.advanceTo(env.clock.now() + 60_000);
    await handleStatusChange(structuredClone(event), healthy);
    await drain(healthy);
    // The claim of the dead process expires; the scheduled drain takes it over.
    env.clock.advanceTo(env.clock.now() + healthy.claimTimeoutMs + 1_000);
    await drain(healthy);
  } else {
    env.clock.advanceTo(env.clock.now() + healthy.claimTimeoutMs + 1_000);
    await handleStatusChange(structuredClone(event), healthy);
    await drain(healthy);
  }
  // EventBridge delivers the event once more (at least once), late.
  await handleStatusChange(structuredClone(event), healthy);
  // After the clientToken window (15 minutes): only the ledger stands between us and a second redrive.
  env.clock.advanceTo(env.clock.now() + 20 * 60_000);
  await drain(healthy);
  await handleStatusChange(structuredClone(event), healthy);
  await env.standIn.idle();
}

describe('Lambda killed at every step between receiving the event and recording the outcome', () => {
  const figures: string[] = [];
  afterAll(() => console.log(['crash matrix (scenario: calls of a clean run; crash points tested)', ...figures].join('\n')));

  const cases = scenarios.flatMap((s) => (['retry, then drain', 'late redelivery first'] as RecoveryOrder[]).map((order) => [`${s.name}; recovery: ${order}`, s, order] as const));

  test.each(cases)('%s: redriven exactly once for every crash point', async (title, scenario, order) => {
    // Many executions failing with one error would open the outage breaker and be held (tests in
    // test/integration/breaker.test.ts); this test is about crash recovery of one failure at a time, so the breaker is off.
    await withFlakyMachine(failsOnce, { breaker: { enabled: false }, intervalSeconds: 0, maxRedrives: 3 }, async (env, machine) => {
      let cleanCalls: string[] | undefined;
      let points = 0;
      for (let k = 0; cleanCalls === undefined || k < cleanCalls.length; k++) {
        for (const when of ['before', 'after'] as CrashMoment[]) {
          const name = `crash-${points}-${k}-${when}`;
          const { arn, event, run, count = 0, redrives: expected = 1 } = await scenario.prepare(env, machine, name);
          const plan = new CrashPlan(k, when);
          const crashing = crashingDeps(env.config, plan, env.clock.now, env.clock.sleep);
          let crashed = false;
          try {
            await run(crashing.deps);
          } catch (e) {
            if (!(e instanceof SimulatedCrash)) throw e;
            crashed = true;
          } finally {
            crashing.dispose();
          }
          if (!plan.reached) {
            // The run finished before call k: this is the clean run; k has covered every call.
            expect(crashed).toBe(false);
            cleanCalls = plan.calls;
          } else {
            if (!crashed) throw new Error(`${title}: the crash ${when} call ${k} was swallowed; calls: ${plan.calls.join(', ')}`);
            points++;
            tally('Lambda killed (SimulatedCrash)');
          }
          await recover(env, event, order);
          const redrives = redrivesOf(env, arn);
          if (redrives !== expected) throw new Error(`${title}: crash ${when} call ${k} (${plan.calls[k]}): ${redrives} redrives`);
          expect((await env.deps.ledger.get(arn, count))?.state).toBe('redriven');
          // A record 0 is always there once a later failure is recorded (the fresh claim relies on it).
          if (count > 0) expect(await env.deps.ledger.get(arn, 0)).toMatchObject({ state: 'skipped', reason: 'stale-event', supersededBy: count });
          if (!plan.reached) break;
        }
        // A drain run reads every index shard (due, backlog, the 17 active-breaker values): ~45 calls.
        if (cleanCalls === undefined && k > 80) throw new Error('no clean run within 80 calls');
      }
      expect(cleanCalls!.length).toBeGreaterThan(3);
      expect((await env.deps.ledger.backlog()).count).toBe(0);
      figures.push(`${title}: ${points} crash points over ${cleanCalls!.length} calls [${cleanCalls!.join(', ')}]`);
    });
    // A drain run has ~45 calls: ~90 crash points, each with its recovery (about 30 s on a
    // quiet 2-core machine, twice that while the machine is busy).
  }, 180_000);
});
