/**
 * The benchmark scenarios at a small scale: the invariants `npm run bench` reports must
 * hold whatever the machine's speed (no timing assertions here).
 */
import { runBurst } from '../../bench/burst';
import { outageChart } from '../../local/timeline-chart';
import { OUTAGE_SCENARIO, runOutage } from '../../bench/outage';
import { searchPolicies } from '../../bench/policy-search';
import { checkMusts, renderMarkdown } from '../../bench/report';
import { DEFAULT_POLICY_SPEC, NAIVE_SPEC, OUTAGE_TUNED_SPEC } from '../../bench/run';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const scenario = { ...OUTAGE_SCENARIO, executions: 60 };

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

test('outage, 60 executions: auto-redrive redrives less, never bad input, loses nothing', async () => {
  const naive = await runOutage(NAIVE_SPEC, scenario);
  const tuned = await runOutage(OUTAGE_TUNED_SPEC, scenario);
  const byDefault = await runOutage(DEFAULT_POLICY_SPEC, scenario);
  const badInputs = Math.round(scenario.executions * scenario.badInputShare);

  expect(naive.retryable).toBe(scenario.executions - badInputs);
  expect(naive.futileRedrives).toBeGreaterThan(tuned.futileRedrives);
  expect(naive.futileRedrives).toBeGreaterThan(byDefault.futileRedrives);
  expect(naive.badInputRedrives).toBeGreaterThan(0);

  for (const auto of [tuned, byDefault]) {
    expect(auto.badInputRedrives).toBe(0);
    expect(auto.autoRedrive?.lostFailures).toBe(0);
    expect(auto.autoRedrive?.deadLettered).toBe(0);
    expect(auto.autoRedrive?.skipReasons['error-not-retryable']).toBe(badInputs);
  }
  // The outage-tuned policy recovers everything; the default gives up on some, on record.
  expect(tuned.recovered).toBe(tuned.retryable);
  expect(tuned.maxRedrivesOneExecution).toBeLessThanOrEqual(6);
  expect(byDefault.maxRedrivesOneExecution).toBeLessThanOrEqual(3);
  expect(byDefault.recovered + (byDefault.autoRedrive?.skipReasons['limit-reached'] ?? 0)).toBe(byDefault.retryable);

  // The report and the chart render from these results.
  const partial = {
    meta: {
      date: 'test', node: process.version, platform: 'test', arch: 'test', nproc: 1, cpuModel: 'test', memoryGiB: 1, loadAverageAtStart: [0],
      command: 'test', scale: 'quick' as const, durationsMs: {}, quota: null, harness: [],
    },
    outage: {
      scenario: { ...scenario, outageStart: 'test' },
      model: [],
      naive,
      autoRedrive: { ...tuned, policyName: 'outage-tuned' },
      autoRedriveDefault: byDefault,
      futileRatio: tuned.futileRedrives / naive.futileRedrives,
      policySearch: searchPolicies(scenario),
    },
  };
  const musts = checkMusts(partial);
  expect(musts.find((m) => m.id === 'outage.badInput')?.ok).toBe(true);
  expect(renderMarkdown({ ...partial, musts })).toContain('| retryable |');
  expect(outageChart([{ title: 'naive', subtitle: '', timeline: naive.timeline }], scenario.outageMinutes)).toMatch(/^<svg[\s\S]*<\/svg>\n$/);
});
