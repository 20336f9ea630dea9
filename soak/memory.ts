/** Memory samples of the soak run: heap and RSS after a forced GC, and the heap's trend. */
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--expose_gc');
export const gc = runInNewContext('gc') as () => void;
export interface Sample {
  readonly t: number;
  readonly rss: number;
  readonly heap: number;
}
export const samples: Sample[] = [];
export const mb = (b: number) => b / 1024 / 1024;

/** Least-squares slope of heap over time, MB per minute. */
export function slope(points: Sample[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p.t, 0) / n;
  const my = points.reduce((s, p) => s + p.heap, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mx) * (p.heap - my);
    den += (p.t - mx) ** 2;
  }
  return mb(num / den) * 60_000;
}
export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
