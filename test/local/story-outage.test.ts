/** The outage story that `npm start -- --story outage` prints ends as docs/benchmarks-breaker.md says. */
import { DETAIL_TYPE_BREAKER_CLOSED, DETAIL_TYPE_BREAKER_OPENED } from '../../contract/owner-events';
import { outageStoryProblems, runOutageStory } from '../../local/story-outage';
import { OutageStoryPrinter, outageStoryChart } from '../../local/story-outage-view';

test('outage story: failures pile up, the breaker opens, probes fail, the outage ends, a probe succeeds, everything held is released and recovers', async () => {
  const lines: string[] = [];
  const printer = new OutageStoryPrinter((l) => lines.push(l));
  const r = await runOutageStory((e) => printer.add(e));
  printer.flush();

  expect(outageStoryProblems(r)).toEqual([]);
  expect(r.executions.filter((e) => !e.badInput).every((e) => e.finalStatus === 'SUCCEEDED')).toBe(true);
  expect(r.executions.find((e) => e.badInput)).toMatchObject({ finalStatus: 'FAILED', redriveCount: 0 });
  expect(r.breakerEvents.map((b) => b.detailType)).toEqual([DETAIL_TYPE_BREAKER_OPENED, DETAIL_TYPE_BREAKER_CLOSED]);
  const [opened, closed] = r.breakerEvents;
  // Probes before the outage ended failed; the breaker closed after it ended, on a probe.
  const probes = r.entries.filter((e) => e.kind === 'decision' && e.reason === 'probe' && e.action === 'redriven');
  expect(probes.length).toBeGreaterThanOrEqual(2);
  expect(closed.reason).toBe('probe-succeeded');
  const end = r.entries.find((e) => e.kind === 'note')!.at;
  expect(closed.at).toBeGreaterThan(end);
  expect(opened.at).toBeLessThan(end);
  expect(probes.filter((p) => p.at < end).length).toBeGreaterThanOrEqual(1);
  // Everything held was released through the normal decision, after the close.
  const releases = r.entries.filter((e) => e.kind === 'decision' && e.reason === 'release');
  expect(releases.length).toBe(r.redrivesByReason.release);
  expect(releases.every((e) => e.at >= closed.at)).toBe(true);
  expect(r.mostHeld).toBeGreaterThanOrEqual(10);
  expect(r.minutes.at(-1)?.held).toBe(0);

  expect(lines.some((l) => l.includes('BREAKER OPENED'))).toBe(true);
  expect(lines.some((l) => /probe pay-\d+ FAILED again/.test(l))).toBe(true);
  expect(lines.some((l) => l.includes('BREAKER CLOSED (probe-succeeded)'))).toBe(true);
  expect(outageStoryChart(r)).toMatch(/^<svg[\s\S]*breaker opened[\s\S]*<\/svg>\n$/);
});
