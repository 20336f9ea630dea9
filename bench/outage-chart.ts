/**
 * bench/results/outage.svg: for each outage (columns), redrives per minute (log scale)
 * and retryable executions recovered so far (linear), one line per redriver: naive,
 * breaker off, breaker on.
 */
import { lineChart, type LinePanel, type LineSeries } from '../local/timeline-chart';
import type { OutageRunResult } from './outage';
import type { OutageComparison } from './report';
import { fmt } from './stats';

export const OUTAGE_CHART_LINES = [
  { label: 'naive redriver', color: '#d62728', width: 1.4 },
  { label: 'auto-redrive, breaker off', color: '#ff7f0e', width: 1.8, dash: '6 3' },
  { label: 'auto-redrive, breaker on', color: '#1f77b4', width: 2.4 },
] as const;

const title = (minutes: number) => (minutes % 60 === 0 ? `${minutes / 60}-hour outage` : `${minutes}-minute outage`);

const redrives = (r: OutageRunResult | undefined): LineSeries | undefined => r && { label: r.label, values: r.timeline.map((b) => b.redrives) };

/** Recoveries so far (in the outage worlds every SUCCEEDED event is a retryable execution recovering). */
const recovered = (r: OutageRunResult | undefined): LineSeries | undefined => {
  if (!r) return undefined;
  let sum = 0;
  return { label: r.label, values: r.timeline.map((b) => (sum += b.recoveries)) };
};

export function outageComparisonChart(outages: readonly OutageComparison[]): string {
  const runs = (o: OutageComparison) => [o.naive, o.breakerOff, o.breakerOn];
  const panels = outages.map((o) => {
    const minutes = o.scenario.outageMinutes;
    const longest = Math.max(...runs(o).map((r) => r?.timeline.length ?? 0));
    const common = {
      shade: { untilMinute: minutes, label: 'downstream outage' },
      minutes: Math.max(longest, minutes + 15),
      tickEvery: minutes > 60 ? 30 : 10,
    };
    const perMinute: LinePanel = {
      ...common,
      title: `${title(minutes)}: redrives per minute`,
      subtitle: `futile redrives: ${runs(o).map((r) => (r ? fmt(r.futileRedrives) : 'n/a')).join(' / ')} (naive / off / on)`,
      yLabel: 'redrives per minute (log scale)',
      scale: 'log',
      series: runs(o).map(redrives),
    };
    const soFar: LinePanel = {
      ...common,
      title: `${title(minutes)}: executions recovered`,
      subtitle: `recovered of ${fmt(o.naive.retryable)}: ${runs(o).map((r) => (r ? fmt(r.recovered) : 'n/a')).join(' / ')} (naive / off / on)`,
      yLabel: 'retryable executions recovered so far',
      scale: 'linear',
      cumulative: true,
      series: runs(o).map(recovered),
    };
    return [perMinute, soFar];
  });
  // Rows: the per-minute panels, then the recovered panels; one column per outage.
  const rows = [panels.map((p) => p[0]), panels.map((p) => p[1])];
  return lineChart(rows, { xLabel: 'simulated minutes since the outage began', lines: OUTAGE_CHART_LINES });
}
