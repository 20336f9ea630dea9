/**
 * Failures, redrives and recoveries per (simulated) minute as a hand-written SVG, one
 * panel per run side by side on a shared logarithmic scale (in the outage benchmark the
 * naive redriver's redrives are two orders of magnitude above the rest). Used by
 * `npm run bench` (bench/results/outage.svg) and `npm start` (local/output/story.svg).
 */

export interface MinuteBucket {
  readonly minute: number;
  failures: number;
  redrives: number;
  recoveries: number;
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
}

/** The outage benchmark's chart: the outage shaded from minute 0. */
export function outageChart(panels: readonly ChartPanel[], outageMinutes: number): string {
  return timelineChart(panels, {
    shade: { untilMinute: outageMinutes, label: 'downstream outage' },
    xLabel: 'simulated minutes since the outage began',
  });
}

// Drawn in this order; failures wide and pale so that redrives on top of them stay visible.
const SERIES = [
  { key: 'failures', label: 'failures', color: '#d62728', width: 4, opacity: 0.45, dash: '' },
  { key: 'redrives', label: 'redrives', color: '#1f77b4', width: 1.6, opacity: 1, dash: '' },
  { key: 'recoveries', label: 'recoveries', color: '#2ca02c', width: 1.8, opacity: 1, dash: '5 3' },
] as const;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function timelineChart(panels: readonly ChartPanel[], options: ChartOptions): string {
  const shadeMinutes = options.shade?.untilMinute ?? 0;
  const tick = options.tickEvery ?? 10;
  const panelW = 360;
  const panelH = 260;
  const margin = { left: 52, right: 14, top: 58, bottom: 44 };
  const width = panels.length * (panelW + margin.left + margin.right);
  const height = panelH + margin.top + margin.bottom + 34;
  const maxMinute = Math.max(shadeMinutes + tick, ...panels.map((p) => p.timeline.length));
  const xMax = Math.ceil(maxMinute / tick) * tick;
  const maxValue = Math.max(10, ...panels.flatMap((p) => p.timeline.flatMap((b) => [b.failures, b.redrives, b.recoveries])));
  const decades = Math.ceil(Math.log10(maxValue + 1));
  // log scale with 0 drawn on the axis: y = log10(1 + v)
  const y = (v: number) => panelH - (Math.log10(1 + v) / decades) * panelH;
  const x = (minute: number) => (minute / xMax) * panelW;

  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="11">`);
  parts.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  panels.forEach((panel, i) => {
    const ox = i * (panelW + margin.left + margin.right) + margin.left;
    const oy = margin.top;
    parts.push(`<g transform="translate(${ox},${oy})">`);
    parts.push(`<text x="${panelW / 2}" y="-38" text-anchor="middle" font-size="14" font-weight="bold">${esc(panel.title)}</text>`);
    parts.push(`<text x="${panelW / 2}" y="-22" text-anchor="middle" fill="#444">${esc(panel.subtitle)}</text>`);
    if (options.shade) {
      parts.push(`<rect x="0" y="0" width="${x(shadeMinutes)}" height="${panelH}" fill="#f2f2f2"/>`);
      parts.push(`<text x="${x(shadeMinutes) / 2}" y="12" text-anchor="middle" fill="#888">${esc(options.shade.label)}</text>`);
    }
    // grid and y axis (decades)
    for (let d = 0; d <= decades; d++) {
      const v = Math.pow(10, d);
      const yy = d === 0 ? y(0) : y(v);
      parts.push(`<line x1="0" x2="${panelW}" y1="${yy.toFixed(1)}" y2="${yy.toFixed(1)}" stroke="#ddd"/>`);
      parts.push(`<text x="-6" y="${(yy + 4).toFixed(1)}" text-anchor="end" fill="#444">${d === 0 ? '0' : v.toLocaleString('en-US')}</text>`);
    }
    // x axis
    parts.push(`<line x1="0" x2="${panelW}" y1="${panelH}" y2="${panelH}" stroke="#444"/>`);
    for (let m = 0; m <= xMax; m += tick) {
      parts.push(`<line x1="${x(m)}" x2="${x(m)}" y1="${panelH}" y2="${panelH + 4}" stroke="#444"/>`);
      parts.push(`<text x="${x(m)}" y="${panelH + 16}" text-anchor="middle" fill="#444">${m}</text>`);
    }
    parts.push(`<text x="${panelW / 2}" y="${panelH + 32}" text-anchor="middle" fill="#444">${esc(options.xLabel)}</text>`);
    if (i === 0) parts.push(`<text transform="translate(-40,${panelH / 2}) rotate(-90)" text-anchor="middle" fill="#444">per minute (log scale)</text>`);
    // series as step lines
    for (const s of SERIES) {
      const points: string[] = [];
      for (let m = 0; m < xMax; m++) {
        const v = panel.timeline[m]?.[s.key] ?? 0;
        points.push(`${x(m).toFixed(1)},${y(v).toFixed(1)}`, `${x(m + 1).toFixed(1)},${y(v).toFixed(1)}`);
      }
      parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="${s.width}" stroke-opacity="${s.opacity}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''} points="${points.join(' ')}"/>`);
    }
    parts.push('</g>');
  });
  // legend
  const ly = height - 12;
  SERIES.forEach((s, i) => {
    const lx = margin.left + i * 160;
    parts.push(`<line x1="${lx}" x2="${lx + 22}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="${Math.max(2, s.width)}" stroke-opacity="${s.opacity}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    parts.push(`<text x="${lx + 28}" y="${ly}" fill="#222">${s.label} per minute</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
