/**
 * The bench's whatIf section on a small seeded history: the command's own counts, as
 * bench/results/latest.json records them.
 */
import { runWhatIf } from '../../bench/what-if';
import { renderMarkdown } from '../../bench/report-markdown';
import type { BenchMeta } from '../../bench/report';
import { MODELS } from '../../bench/run';

test('whatIf: failures, seconds, ListExecutions and DescribeExecution calls of redrivectl what-if', async () => {
  const r = await runWhatIf({ failures: 40, stateMachines: 4, args: ['--describe-rate', '1000', '--list-rate', '1000'] });
  expect(r).toMatchObject({ failures: 40, stateMachines: 4, describeCalls: 40, listCalls: 12, throttled: 0 });
  expect(r.wouldRedrive).toBeGreaterThan(0);
  expect(r.wouldRedrive).toBeLessThan(40);
  expect(r.seconds).toBeGreaterThan(0);
  const meta: BenchMeta = {
    date: 'test', node: process.version, platform: 'test', arch: 'test', nproc: 1, cpuModel: 'test', memoryGiB: 1, loadAverageAtStart: [0],
    command: 'test', scale: 'quick', durationsMs: {}, quota: null, harness: [], models: MODELS,
  };
  expect(renderMarkdown({ meta, musts: [], whatIf: r })).toContain('## What-if (real clock)');
}, 120_000);
