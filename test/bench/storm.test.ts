/**
 * The storm scenario (bench/storm.ts) at a small scale: it runs with the partition model
 * on, accounts for every failure, and reports hot keys per table and index; the MUST checks
 * and the Markdown include it. Figures come from `npm run bench`, not from here.
 */
import { type BenchMeta, checkMusts } from '../../bench/report';
import { renderMarkdown } from '../../bench/report-markdown';
import { MODELS, SCALES } from '../../bench/run';
import { runStorm, STORM_SCENARIO, STORM_TENTH, stormRuns } from '../../bench/storm';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const meta: BenchMeta = {
  date: 'test', node: process.version, platform: 'test', arch: 'test', nproc: 1, cpuModel: 'test', memoryGiB: 1, loadAverageAtStart: [0],
  command: 'test', scale: 'quick', durationsMs: {}, quota: null, harness: [], models: MODELS,
};

test('storm runs: every failure within the storm window, spread over the state machines, a few % bad input', () => {
  const runs = stormRuns(STORM_SCENARIO);
  expect(runs).toHaveLength(100_000);
  expect(new Set(runs.map((r) => r.stateMachine)).size).toBe(50);
  expect(Math.max(...runs.map((r) => r.startOffsetMs)) + STORM_SCENARIO.failingRunSeconds * 1000).toBeLessThanOrEqual(STORM_SCENARIO.stormSeconds * 1000);
  const bad = runs.filter((r) => r.badInput).length / runs.length;
  expect(bad).toBeGreaterThan(0.015);
  expect(bad).toBeLessThan(0.025);
});

test('the tenth storm (--storm=tenth) and the quick one arrive as fast as the full one: every partition key as hot', () => {
  const perSecond = (s: typeof STORM_SCENARIO) => s.failures / (s.stormSeconds - s.failingRunSeconds);
  expect(STORM_TENTH.failures).toBe(10_000);
  expect(perSecond(STORM_TENTH)).toBeCloseTo(perSecond(STORM_SCENARIO), 6);
  expect(perSecond(SCALES.quick.storm)).toBeCloseTo(perSecond(STORM_SCENARIO), 6);
  expect(SCALES.full.storm).toBe(STORM_SCENARIO);
});

test('storm, 300 failures of 5 state machines, 2-min outage after it: held, released, all recovered, none lost or redriven twice; hot keys reported per table and index', async () => {
  const r = await runStorm({ ...STORM_SCENARIO, failures: 300, stateMachines: 5, instances: 3, outageAfterStormMinutes: 2 });
  expect(r.failures).toBe(300);
  expect(r.lost).toBe(0);
  expect(r.doubleRedrives).toBe(0);
  expect(r.deadLettered).toBe(0);
  expect(r.badInputRedrives).toBe(0);
  expect(r.recovered).toBe(r.retryable);
  // One outage: each group's breaker opens at most once; a group opens only if its redrives
  // are still failing after the wait (decide/breaker.ts confirmationMs), which 60 failures
  // over a 2-minute outage do not always outlast.
  expect(r.breaker?.opened).toBeGreaterThanOrEqual(1);
  expect(r.breaker?.opened).toBeLessThanOrEqual(5);
  expect(r.partitions?.hottest.map((k) => k.resource).sort()).toEqual(['auto-redrive-ledger', 'auto-redrive-ledger/index/byDue', 'auto-redrive-policies']);
  expect(r.hottestKeyWritesPerSecond?.writesPerSecond).toBeGreaterThan(0);
  expect(r.timeRatio).toBeGreaterThan(0);

  const musts = checkMusts({ meta, storm: r });
  expect(musts.filter((m) => m.id.startsWith('storm.')).map((m) => m.id)).toEqual(['storm.lost', 'storm.double', 'storm.deadLettered', 'storm.hottestKey']);
  const md = renderMarkdown({ meta, storm: r, musts });
  expect(md).toContain('## Storm');
  expect(md).toContain('auto-redrive-ledger/index/byDue');
}, 180_000);
