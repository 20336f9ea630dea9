/**
 * The benchmark scenarios at a small scale: the invariants `npm run bench` reports must
 * hold whatever the machine's speed (no timing assertions here).
 */
import { runBurst } from '../../bench/burst';
import { outageComparisonChart } from '../../bench/outage-chart';
import { naiveRedriveCap, OUTAGE_SCENARIOS, runOutage } from '../../bench/outage';
import { BREAKER_OFF_SPEC, NAIVE_SPEC } from '../../bench/redrivers';
import { type BenchMeta, checkMusts } from '../../bench/report';
import { renderMarkdown } from '../../bench/report-markdown';
import { MODELS, outageComparison, trickleSection } from '../../bench/run';
import { runTrickle, TRICKLE_SCENARIO, trickleRuns } from '../../bench/trickle';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const scenario = { ...OUTAGE_SCENARIOS.outage30, executions: 60 };
const trickle = { ...TRICKLE_SCENARIO, runsPerMinute: 20, minutes: 15 };
const meta: BenchMeta = {
  date: 'test', node: process.version, platform: 'test', arch: 'test', nproc: 1, cpuModel: 'test', memoryGiB: 1, loadAverageAtStart: [0],
  command: 'test', scale: 'quick', durationsMs: {}, quota: null, harness: [], models: MODELS,
};

test('burst, 200 events at 200/s through 20 instances: each failure redriven once, none lost', async () => {
  const r = await runBurst({ events: 200, ratePerSecond: 200, workers: 20 });
  expect(r.events).toBe(200);
  expect(r.redriven).toBe(200);
  expect(r.doubleRedrives).toBe(0);
  expect(r.lost).toBe(0);
  expect(r.deadLettered).toBe(0);
  expect(r.ledger).toEqual({ redriven: 200 });
  expect(r.executionsSucceededAfterRedrive).toBe(200);
  expect(r.stepFunctionsCalls.RedriveExecution).toBeGreaterThanOrEqual(200);
  expect(r.quota.standIn).toEqual({ bucketSize: 650, refillPerSecond: 150 });
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

test('outage, 60 executions: breaker-off auto-redrive redrives less than naive, never bad input, loses nothing; report and chart render', async () => {
  const naive = await runOutage(NAIVE_SPEC, scenario);
  const off = await runOutage(BREAKER_OFF_SPEC, scenario);
  const badInputs = Math.round(scenario.executions * scenario.badInputShare);

  expect(naive.retryable).toBe(scenario.executions - badInputs);
  expect(naive.recovered).toBe(naive.retryable);
  expect(naive.naive?.retryableStoppedByCap).toBe(0);
  expect(naive.badInputRedrives).toBeGreaterThan(0);
  // The naive redriver keeps no record: every bad-input execution it leaves FAILED is lost.
  expect(naive.lost).toBe(badInputs);
  expect(naive.futileRedrives).toBeGreaterThan(off.futileRedrives);

  expect(off.badInputRedrives).toBe(0);
  expect(off.lost).toBe(0);
  expect(off.autoRedrive?.deadLettered).toBe(0);
  expect(off.autoRedrive?.skipReasons['error-not-retryable']).toBe(badInputs);
  // The default policy without a breaker gives up on some during a 30-minute outage, on record.
  expect(off.maxRedrivesOneExecution).toBeLessThanOrEqual(3);
  expect(off.recovered + (off.autoRedrive?.skipReasons['limit-reached'] ?? 0)).toBe(off.retryable);
  expect(off.timeline.reduce((n, b) => n + b.redrives, 0)).toBe(off.redrives);

  const outage30 = outageComparison('outage30', scenario, { naive, breakerOff: off });
  const t = await runTrickle(BREAKER_OFF_SPEC, trickle);
  expect(t.recovered).toBe(t.retryable);
  expect(t.lost).toBe(0);
  expect(t.medianDelaySeconds).toBeGreaterThan(0);
  const partial = { meta, outage30, trickle: trickleSection(trickle, t, undefined) };
  const musts = checkMusts(partial);
  expect(musts.find((m) => m.id === 'outage30.badInput')?.ok).toBe(true);
  expect(musts.find((m) => m.id === 'outage30.lost')?.ok).toBe(true);
  const markdown = renderMarkdown({ ...partial, musts });
  expect(markdown).toContain('| figure | naive | breaker off | breaker on |');
  expect(markdown).toContain('| retryable |');
  expect(outageComparisonChart([outage30])).toMatch(/^<svg[\s\S]*naive redriver[\s\S]*<\/svg>\n$/);
});
