/**
 * The benchmark scenarios at a small scale: the invariants `npm run bench` reports must
 * hold whatever the machine's speed (no timing assertions here).
 */
import { runBurst } from '../../bench/burst';
import { outageComparisonChart } from '../../bench/outage-chart';
import { naiveRedriveCap, OUTAGE_SCENARIOS, runOutage } from '../../bench/outage';
import { runBurstHeld } from '../../bench/burst-held';
import { runBurstStateScoped } from '../../bench/burst-state-scoped';
import { BREAKER_OFF_SPEC, BREAKER_ON_SPEC, NAIVE_SPEC } from '../../bench/redrivers';
import { type BenchMeta, checkMusts } from '../../bench/report';
import { renderMarkdown } from '../../bench/report-markdown';
import { burstCosts, MODELS, outageComparison, trickleSection } from '../../bench/run';
import { runTrickle, TRICKLE_SCENARIO, trickleRuns } from '../../bench/trickle';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

// Two state machines and a 10-minute outage: enough failures per group, within minutes, to open a breaker.
const scenario = { ...OUTAGE_SCENARIOS.outage30, executions: 60, stateMachines: 2, outageMinutes: 10 };
const trickle = { ...TRICKLE_SCENARIO, runsPerMinute: 20, minutes: 15 };
const meta: BenchMeta = {
  date: 'test', node: process.version, platform: 'test', arch: 'test', nproc: 1, cpuModel: 'test', memoryGiB: 1, loadAverageAtStart: [0],
  command: 'test', scale: 'quick', durationsMs: {}, quota: null, harness: [], models: MODELS,
};

test('burst, 200 events at 200/s through 20 instances: each failure redriven once or deferred to the drain (a loaded machine), none lost', async () => {
  const r = await runBurst({ events: 200, ratePerSecond: 200, workers: 20 });
  expect(r.events).toBe(200);
  // Real clock: on a loaded machine a failure that waits longer than maxRateWaitMs for its
  // rate slot is deferred (recorded pending, for the drain): accounted for, not lost. How
  // many are redriven at once is a speed figure, measured by `npm run bench`.
  const { redriven = 0, pending = 0, ...others } = r.ledger as Record<string, number>;
  expect(others).toEqual({});
  expect(redriven + pending).toBe(200);
  expect(r.redriven).toBe(redriven);
  expect(r.redriven).toBeGreaterThan(0);
  expect(r.doubleRedrives).toBe(0);
  expect(r.lost).toBe(0);
  expect(r.deadLettered).toBe(0);
  expect(r.executionsSucceededAfterRedrive).toBe(r.redriven);
  // At least one call per redriven failure (a deferred one is the drain's, after this run).
  expect(r.stepFunctionsCalls.RedriveExecution).toBeGreaterThanOrEqual(redriven);
  expect(r.quota.standIn).toEqual({ bucketSize: 650, refillPerSecond: 150 });
});

test('burstDefault, the same 200 events under the default settings (breaker as shipped): every failure recorded, none lost, none redriven twice', async () => {
  const r = await runBurst({ events: 200, ratePerSecond: 200, workers: 20, breakerFields: {} });
  expect(r.policy).toEqual({ stateMachine: '*', intervalSeconds: 0, maxRedrives: 1, description: 'bench: redrive at once, once, breaker as shipped' });
  expect(r.lost).toBe(0);
  expect(r.doubleRedrives).toBe(0);
  expect(r.deadLettered).toBe(0);
  // Redriven, held, or (on a loaded machine) deferred: each failure has its record.
  expect(r.held).toBe(r.ledger.held ?? 0);
  expect(Object.values(r.ledger).reduce((n, v) => n + v, 0)).toBe(200);
});

test('burstDefault MUSTs: everything redriven at 0.95 of the rate within the call budget; a burst without burstDefault is a failed MUST', () => {
  const burst = (over: Record<string, number>) =>
    ({ events: 100, redriven: 100, held: 0, lost: 0, doubleRedrives: 0, achievedRateRatio: 0.96, achievedRate: 96, configuredRate: 100, dynamoCallsPerRedrive: 2.1, limiterWritesPerRedrive: 0.05, ...over }) as never;
  const full = { ...meta, scale: 'full' as const };
  const verdicts = (musts: ReturnType<typeof checkMusts>) => Object.fromEntries(musts.filter((m) => m.id.startsWith('burstDefault')).map((m) => [m.id, m.ok]));
  expect(verdicts(checkMusts({ meta: full, burst: burst({}), burstDefault: burst({}) }))).toEqual({
    'burstDefault.redriven': true,
    'burstDefault.rate': true,
    'burstDefault.double': true,
    'burstDefault.lost': true,
    'burstDefault.dynamoCalls': true,
    'burstDefault.limiterWrites': true,
  });
  expect(verdicts(checkMusts({ meta: full, burstDefault: burst({ redriven: 60, held: 40, achievedRateRatio: 0.94, dynamoCallsPerRedrive: 2.6 }) }))).toMatchObject({
    'burstDefault.redriven': false,
    'burstDefault.rate': false,
    'burstDefault.dynamoCalls': false,
  });
  expect(checkMusts({ meta: full, burst: burst({}) }).find((m) => m.id === 'burstDefault')).toMatchObject({ ok: false, enforced: true });
});

test('the cost comes from burstDefault; the breaker-off burst gives costBreakerOff, for comparison', () => {
  const burst = (updates: number) => ({ events: 100, redriven: 100, dynamoCalls: { byCommand: { UpdateItem: updates } }, handlerMs: { p50: 100 } }) as never;
  const costs = burstCosts({ burst: burst(200), burstDefault: burst(300) });
  expect(costs.cost?.writeUnitsPerRedrive).toBe(3);
  expect(costs.costBreakerOff?.writeUnitsPerRedrive).toBe(2);
  expect(burstCosts({ burst: burst(200) }).cost).toBeUndefined();
});

test('the naive cap never stops a retryable execution: it covers the whole outage', () => {
  for (const s of Object.values(OUTAGE_SCENARIOS)) {
    expect(naiveRedriveCap(s) * (s.failingRunSeconds + s.deliverySeconds)).toBeGreaterThan(s.outageMinutes * 60);
  }
  expect(naiveRedriveCap(OUTAGE_SCENARIOS.outage30)).toBe(100);
});

test('trickle runs: about 2% fail, independently of each other, on one busy state machine', () => {
  const runs = trickleRuns(TRICKLE_SCENARIO);
  expect(runs).toHaveLength(TRICKLE_SCENARIO.runsPerMinute * TRICKLE_SCENARIO.minutes);
  expect(new Set(runs.map((r) => r.stateMachine)).size).toBe(1);
  const share = runs.filter((r) => r.retryable).length / runs.length;
  expect(share).toBeGreaterThan(0.015);
  expect(share).toBeLessThan(0.025);
});

test('outage, 60 executions: naive redrives bad input and keeps no record; breaker off gives up on some; breaker on holds, probes, releases, recovers all; report and chart render', async () => {
  const naive = await runOutage(NAIVE_SPEC, scenario);
  const off = await runOutage(BREAKER_OFF_SPEC, scenario);
  const on = await runOutage(BREAKER_ON_SPEC, scenario);
  const badInputs = Math.round(scenario.executions * scenario.badInputShare);

  expect(naive.retryable).toBe(scenario.executions - badInputs);
  expect(naive.recovered).toBe(naive.retryable);
  expect(naive.naive?.retryableStoppedByCap).toBe(0);
  expect(naive.badInputRedrives).toBeGreaterThan(0);
  // The naive redriver keeps no record: every bad-input execution it leaves FAILED is lost.
  expect(naive.lost).toBe(badInputs);

  for (const auto of [off, on]) {
    expect(auto.badInputRedrives).toBe(0);
    expect(auto.lost).toBe(0);
    expect(auto.autoRedrive?.deadLettered).toBe(0);
    expect(auto.autoRedrive?.skipReasons['error-not-retryable']).toBe(badInputs);
    expect(auto.timeline.reduce((n, b) => n + b.redrives, 0)).toBe(auto.redrives);
    expect(naive.futileRedrives).toBeGreaterThan(auto.futileRedrives);
  }
  // Without the breaker the default policy gives up on some while the downstream is down, on record.
  expect(off.autoRedrive?.breaker.opened).toBe(0);
  expect(off.maxRedrivesOneExecution).toBeLessThanOrEqual(3);
  expect(off.recovered + (off.autoRedrive?.skipReasons['limit-reached'] ?? 0)).toBe(off.retryable);
  expect(off.recovered).toBeLessThan(off.retryable);
  // With it, each group's breaker opens, probes fail until the outage ends, one succeeds, all recover.
  const b = on.autoRedrive!.breaker;
  expect(b.opened).toBeGreaterThanOrEqual(1);
  expect(b.closed['probe-succeeded']).toBe(b.opened);
  expect(b.probes['same-error']).toBeGreaterThan(0);
  expect(b.heldDecisions).toBeGreaterThan(0);
  expect(on.autoRedrive?.ownerNotifications['Auto Redrive Breaker Opened']).toBe(b.opened);
  expect(on.recovered).toBe(on.retryable);
  expect(on.futileRedrives).toBeLessThan(off.futileRedrives);

  const outage30 = outageComparison('outage30', scenario, { naive, breakerOff: off, breakerOn: on });
  expect(outage30.futileRatio).toBeCloseTo(on.futileRedrives / naive.futileRedrives, 3);
  const trickleOff = await runTrickle(BREAKER_OFF_SPEC, trickle);
  const trickleOn = await runTrickle(BREAKER_ON_SPEC, trickle);
  for (const t of [trickleOff, trickleOn]) {
    expect(t.recovered).toBe(t.retryable);
    expect(t.lost).toBe(0);
    expect(t.futileRedrives).toBe(0);
    expect(t.medianDelaySeconds).toBeGreaterThan(0);
  }
  const section = trickleSection(trickle, trickleOff, trickleOn);
  expect(section.addedMedianDelaySeconds).toBeCloseTo(trickleOn.medianDelaySeconds - trickleOff.medianDelaySeconds, 1);
  const partial = { meta, outage30, trickle: section };
  const musts = checkMusts(partial);
  for (const id of ['outage30.badInput', 'outage30.lost', 'outage30.recovered', 'trickle.recovered', 'trickle.lost']) {
    expect({ id, ok: musts.find((m) => m.id === id)?.ok }).toEqual({ id, ok: true });
  }
  const markdown = renderMarkdown({ ...partial, musts });
  expect(markdown).toContain('| figure | naive | breaker off | breaker on |');
  expect(markdown).toContain('| retryable |');
  expect(outageComparisonChart([outage30])).toMatch(/^<svg[\s\S]*naive redriver[\s\S]*breaker on[\s\S]*<\/svg>\n$/);
});

test('a missing breaker-on run is a failed MUST, not a pass', () => {
  const musts = checkMusts({ meta, burst: undefined, outage30: undefined, trickle: undefined });
  expect(musts).toEqual([]);
  const some = checkMusts({ meta: { ...meta, scale: 'full' }, burst: { lost: 0, doubleRedrives: 0, achievedRateRatio: 1, achievedRate: 100, configuredRate: 100, dynamoCallsPerRedrive: 6 } as never });
  expect(some.find((m) => m.id === 'burstHeld')).toMatchObject({ ok: false, enforced: true });
});

test("issue 13's burst MUSTs: DynamoDB calls and limiter writes per redrive, enforced at full scale only", () => {
  const burst = (dynamoCallsPerRedrive: number, limiterWritesPerRedrive: number) =>
    ({ lost: 0, doubleRedrives: 0, achievedRateRatio: 1, achievedRate: 100, configuredRate: 100, dynamoCallsPerRedrive, limiterWritesPerRedrive }) as never;
  const ids = (musts: ReturnType<typeof checkMusts>) => musts.filter((m) => m.id === 'burst.dynamoCalls' || m.id === 'burst.limiterWrites').map(({ id, ok, enforced }) => ({ id, ok, enforced }));
  expect(ids(checkMusts({ meta: { ...meta, scale: 'full' }, burst: burst(2.5, 0.1) }))).toEqual([
    { id: 'burst.dynamoCalls', ok: true, enforced: true },
    { id: 'burst.limiterWrites', ok: true, enforced: true },
  ]);
  expect(ids(checkMusts({ meta: { ...meta, scale: 'full' }, burst: burst(2.51, 0.11) }))).toEqual([
    { id: 'burst.dynamoCalls', ok: false, enforced: true },
    { id: 'burst.limiterWrites', ok: false, enforced: true },
  ]);
  expect(ids(checkMusts({ meta: { ...meta, scale: 'quick' }, burst: burst(6, 1) })).map((m) => m.enforced)).toEqual([false, false]);
});

test('burst held, 100 same-error failures through 20 instances: redriven at the policy\'s pace until its redrives have kept failing through the wait, then held, probed, released; none lost, none redriven twice', async () => {
  const r = await runBurstHeld({ events: 100, ratePerSecond: 100, workers: 20 });
  expect(r.breakerEvents).toEqual({ 'Auto Redrive Breaker Opened': 1, 'Auto Redrive Breaker Closed': 1 });
  expect(r.held).toBeGreaterThanOrEqual(90);
  expect(r.released).toBeGreaterThanOrEqual(r.held - r.probes);
  expect(r.executionsSucceeded).toBe(100);
  expect(r.lost).toBe(0);
  expect(r.doubleRedrives).toBe(0);
  expect(r.deadLettered).toBe(0);
  expect(r.dynamoCallsPerFailure).toBeGreaterThan(0);
  expect(r.releaseRateRatio).toBeGreaterThan(0);
  // Until the breaker opens (the wait), the drain redrives due failures into the outage as the
  // policy alone would, each after a DescribeExecution at the stand-in's 7.5/s: tens of seconds.
}, 180_000);

test('burstStateScoped, 40 events with neverAtStates on the policy: each failure\'s history read once, each redriven once, none lost; its MUSTs', async () => {
  const r = await runBurstStateScoped({ events: 40, ratePerSecond: 100, workers: 10 });
  expect(r.policy).toMatchObject({ neverAtStates: ['ChargeCard'] });
  expect(r.stepFunctionsCalls.GetExecutionHistory).toBe(40);
  expect(r.historyCallsPerFailure).toBe(1);
  expect(r.ceilingPerSecond).toBe(10);
  expect(r.deadLettered).toBe(0);
  expect(r.lost).toBe(0);
  expect(r.doubleRedrives).toBe(0);
  const { redriven = 0, pending = 0, ...others } = r.ledger as Record<string, number>;
  expect(others).toEqual({});
  expect(redriven + pending).toBe(40);
  const musts = checkMusts({ meta, burstStateScoped: r });
  expect(musts.map((m) => m.id)).toEqual(['burstStateScoped.rate', 'burstStateScoped.historyCalls', 'burstStateScoped.double', 'burstStateScoped.lost', 'burstStateScoped.deadLettered']);
  expect(musts.find((m) => m.id === 'burstStateScoped.historyCalls')?.ok).toBe(true);
  expect(renderMarkdown({ meta, burstStateScoped: r, musts })).toContain('"historyCallsPerFailure":1');
});
