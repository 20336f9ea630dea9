/**
 * Hand-written SVG charts of simulated runs, per (simulated) minute:
 * - `timelineChart`: failures, redrives and recoveries of one or more runs, one panel per
 *   run side by side on a shared logarithmic scale. Used by `npm start`
 *   (local/output/story.svg, outage-story.svg).
 * - `lineChart`: one line per redriver (naive, breaker off, breaker on) in a grid of
 *   panels, e.g. redrives per minute and executions recovered so far, for each outage.
 *   Used by `npm run bench` (bench/results/outage.svg).
 */

export interface MinuteBucket {
  readonly minute: number;
  failures: number;
  redrives: number;
  recoveries: number;
  /** Failures held behind an open breaker at the end of the minute (outage story). */
  held?: number;
}

export interface ChartPanel {
  readonly title: string;
  readonly subtitle: string;
  readonly timeline: readonly MinuteBucket[];
}

export interface ChartOptions {
  /** A shaded band from minute 0, e.g. the outage. */
  readonly shade?: { readonly untilMinute: number; readonly label: string };
  readonly xLabel: string;
  /** Minutes between x-axis ticks. @default 10 */
  readonly tickEvery?: number;
  /** Vertical markers, e.g. "breaker opened" (minute, label). */
  readonly marks?: ReadonlyArray<{ readonly minute: number; readonly label: string }>;
  /** Width of each panel's plot area in px. @default 360 */
  readonly panelWidth?: number;
}

// Drawn in this order; failures wide and pale so that redrives on top of them stay visible.
const SERIES = [
  { key: 'failures', label: 'failures', color: '#d62728', width: 4, opacity: 0.45, dash: '' },
  { key: 'held', label: 'held (breaker open)', color: '#9467bd', width: 2.2, opacity: 0.9, dash: '2 2' },
  { key: 'redrives', label: 'redrives', color: '#1f77b4', width: 1.6, opacity: 1, dash: '' },
  { key: 'recoveries', label: 'recoveries', color: '#2ca02c', width: 1.8, opacity: 1, dash: '5 3' },
] as const;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const PANEL = { w: 360, h: 260 };
type Size = { readonly w: number; readonly h: number };
const MARGIN = { left: 56, right: 16, top: 58, bottom: 44 };

interface Axes {
  readonly size: Size;
  readonly xMax: number;
  readonly tick: number;
  readonly scale: 'log' | 'linear';
  readonly maxValue: number;
}

/** y of a value and the grid lines (value, label) for a log (decades, 0 on the axis) or linear axis. */
function yAxis(a: Axes): { y: (v: number) => number; grid: Array<[number, string]> } {
  if (a.scale === 'log') {
    const decades = Math.max(1, Math.ceil(Math.log10(a.maxValue + 1)));
    const y = (v: number) => a.size.h - (Math.log10(1 + Math.max(0, v)) / decades) * a.size.h;
    return { y, grid: Array.from({ length: decades + 1 }, (_, d) => [d === 0 ? 0 : 10 ** d, d === 0 ? '0' : (10 ** d).toLocaleString('en-US')]) };
  }
  const magnitude = 10 ** Math.floor(Math.log10(Math.max(1, a.maxValue)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((st) => a.maxValue / st <= 5) ?? magnitude * 10;
  const top = Math.max(step, Math.ceil(a.maxValue / step) * step);
  const y = (v: number) => a.size.h - (v / top) * a.size.h;
  return { y, grid: Array.from({ length: Math.round(top / step) + 1 }, (_, k) => [k * step, (k * step).toLocaleString('en-US')]) };
}

/** Frame, grid, axes, shading and marks of one panel at (ox, oy); returns its x and y. */
function panelFrame(parts: string[], ox: number, oy: number, title: string, subtitle: string, a: Axes, o: { xLabel: string; yLabel?: string; shade?: ChartOptions['shade']; marks?: ChartOptions['marks'] }) {
  const { y, grid } = yAxis(a);
  const x = (minute: number) => (minute / a.xMax) * a.size.w;
  parts.push(`<g transform="translate(${ox},${oy})">`);
  parts.push(`<text x="${a.size.w / 2}" y="-38" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`);
  parts.push(`<text x="${a.size.w / 2}" y="-22" text-anchor="middle" fill="#444">${esc(subtitle)}</text>`);
  if (o.shade) {
    parts.push(`<rect x="0" y="0" width="${x(o.shade.untilMinute).toFixed(1)}" height="${a.size.h}" fill="#f2f2f2"/>`);
    parts.push(`<text x="${(x(o.shade.untilMinute) / 2).toFixed(1)}" y="12" text-anchor="middle" fill="#888">${esc(o.shade.label)}</text>`);
  }
  for (const [v, label] of grid) {
    const yy = y(v).toFixed(1);
    parts.push(`<line x1="0" x2="${a.size.w}" y1="${yy}" y2="${yy}" stroke="#ddd"/>`);
    parts.push(`<text x="-6" y="${(Number(yy) + 4).toFixed(1)}" text-anchor="end" fill="#444">${label}</text>`);
  }
  parts.push(`<line x1="0" x2="${a.size.w}" y1="${a.size.h}" y2="${a.size.h}" stroke="#444"/>`);
  for (let m = 0; m <= a.xMax; m += a.tick) {
    parts.push(`<line x1="${x(m).toFixed(1)}" x2="${x(m).toFixed(1)}" y1="${a.size.h}" y2="${a.size.h + 4}" stroke="#444"/>`);
    parts.push(`<text x="${x(m).toFixed(1)}" y="${a.size.h + 16}" text-anchor="middle" fill="#444">${m}</text>`);
  }
  parts.push(`<text x="${a.size.w / 2}" y="${a.size.h + 32}" text-anchor="middle" fill="#444">${esc(o.xLabel)}</text>`);
  if (o.yLabel) parts.push(`<text transform="translate(-44,${a.size.h / 2}) rotate(-90)" text-anchor="middle" fill="#444">${esc(o.yLabel)}</text>`);
  (o.marks ?? []).forEach((mark, k) => {
    const xx = x(mark.minute).toFixed(1);
    parts.push(`<line x1="${xx}" x2="${xx}" y1="0" y2="${a.size.h}" stroke="#ff7f0e" stroke-dasharray="3 3"/>`);
    const right = x(mark.minute) > a.size.w * 0.65;
    parts.push(`<text x="${xx}" y="${28 + 12 * (k % 3)}" dx="${right ? -3 : 3}"${right ? ' text-anchor="end"' : ''} fill="#b35900" font-size="10">${esc(mark.label)}</text>`);
  });
  return { x, y };
}

const stepLine = (values: (m: number) => number, xMax: number, x: (m: number) => number, y: (v: number) => number) => {
  const points: string[] = [];
  for (let m = 0; m < xMax; m++) points.push(`${x(m).toFixed(1)},${y(values(m)).toFixed(1)}`, `${x(m + 1).toFixed(1)},${y(values(m)).toFixed(1)}`);
  return points.join(' ');
};

function legend(parts: string[], items: ReadonlyArray<{ label: string; color: string; width: number; opacity?: number; dash?: string }>, top: number, spacing = 160): void {
  items.forEach((s, i) => {
    const lx = MARGIN.left + i * spacing;
    parts.push(`<line x1="${lx}" x2="${lx + 22}" y1="${top - 4}" y2="${top - 4}" stroke="${s.color}" stroke-width="${Math.max(2, s.width)}" stroke-opacity="${s.opacity ?? 1}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    parts.push(`<text x="${lx + 28}" y="${top}" fill="#222">${esc(s.label)}</text>`);
  });
}

export function timelineChart(panels: readonly ChartPanel[], options: ChartOptions): string {
  const tick = options.tickEvery ?? 10;
  const size: Size = { w: options.panelWidth ?? PANEL.w, h: PANEL.h };
  const width = panels.length * (size.w + MARGIN.left + MARGIN.right);
  const height = PANEL.h + MARGIN.top + MARGIN.bottom + 34;
  const maxMinute = Math.max((options.shade?.untilMinute ?? 0) + tick, ...panels.map((p) => p.timeline.length));
  const series = SERIES.filter((s) => s.key !== 'held' || panels.some((p) => p.timeline.some((b) => b.held !== undefined)));
  const axes: Axes = {
    size,
    xMax: Math.ceil(maxMinute / tick) * tick,
    tick,
    scale: 'log',
    maxValue: Math.max(10, ...panels.flatMap((p) => p.timeline.flatMap((b) => series.map((s) => b[s.key] ?? 0)))),
  };
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="11">`);
  parts.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  panels.forEach((panel, i) => {
    const ox = i * (size.w + MARGIN.left + MARGIN.right) + MARGIN.left;
    const { x, y } = panelFrame(parts, ox, MARGIN.top, panel.title, panel.subtitle, axes, {
      xLabel: options.xLabel,
      yLabel: i === 0 ? 'per minute (log scale)' : undefined,
      shade: options.shade,
      marks: options.marks,
    });
    for (const s of series) {
      const points = stepLine((m) => panel.timeline[m]?.[s.key] ?? 0, axes.xMax, x, y);
      parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="${s.width}" stroke-opacity="${s.opacity}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''} points="${points}"/>`);
    }
    parts.push('</g>');
  });
  legend(parts, series.map((s) => ({ ...s, label: s.key === 'held' ? 'held (end of minute)' : `${s.label} per minute` })), height - 12);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

/** One line of a `lineChart` panel: a value per minute. */
export interface LineSeries {
  readonly label: string;
  readonly values: readonly number[];
}

export interface LinePanel {
  readonly title: string;
  readonly subtitle: string;
  readonly yLabel: string;
  readonly scale: 'log' | 'linear';
  /** Running totals: a series keeps its last value to the right edge (a rate drops to 0). */
  readonly cumulative?: boolean;
  /** One per series of the chart's `lines`, same order; missing = not drawn. */
  readonly series: ReadonlyArray<LineSeries | undefined>;
  readonly shade?: ChartOptions['shade'];
  /** Minutes on the x axis (rounded up to a tick). @default the longest series */
  readonly minutes?: number;
  readonly tickEvery?: number;
}

export interface LineChartOptions {
  readonly xLabel: string;
  /** How each series is drawn (and named in the legend), in order. */
  readonly lines: ReadonlyArray<{ readonly label: string; readonly color: string; readonly width?: number; readonly dash?: string }>;
}

/** A grid of panels (rows × columns), one line per series in each. */
export function lineChart(rows: ReadonlyArray<readonly LinePanel[]>, options: LineChartOptions): string {
  const columns = Math.max(...rows.map((r) => r.length));
  const cellW = PANEL.w + MARGIN.left + MARGIN.right;
  const cellH = PANEL.h + MARGIN.top + MARGIN.bottom;
  const width = columns * cellW;
  const height = rows.length * cellH + 34;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="11">`);
  parts.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  rows.forEach((row, r) =>
    row.forEach((panel, c) => {
      const tick = panel.tickEvery ?? 10;
      const longest = Math.max(tick, (panel.shade?.untilMinute ?? 0) + 1, ...panel.series.map((s) => s?.values.length ?? 0));
      const xMax = Math.ceil((panel.minutes ?? longest) / tick) * tick;
      const axes: Axes = { size: PANEL, xMax, tick, scale: panel.scale, maxValue: Math.max(panel.scale === 'log' ? 10 : 1, ...panel.series.flatMap((s) => s?.values ?? [])) };
      const { x, y } = panelFrame(parts, c * cellW + MARGIN.left, r * cellH + MARGIN.top, panel.title, panel.subtitle, axes, { xLabel: options.xLabel, yLabel: panel.yLabel, shade: panel.shade });
      panel.series.forEach((s, k) => {
        const look = options.lines[k];
        if (!s || !look) return;
        const last = s.values.length - 1;
        const points = stepLine((m) => s.values[panel.cumulative ? Math.min(m, last) : m] ?? 0, xMax, x, y);
        parts.push(`<polyline fill="none" stroke="${look.color}" stroke-width="${look.width ?? 1.8}"${look.dash ? ` stroke-dasharray="${look.dash}"` : ''} points="${points}"/>`);
      });
      parts.push('</g>');
    }),
  );
  legend(parts, options.lines.map((l) => ({ ...l, width: l.width ?? 1.8 })), height - 12, 230);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
