/**
 * Runs a fast-check property with a fixed seed, bounded both by a number of runs and by
 * wall-clock time, and remembers how many cases actually ran so the suite can print
 * them (README.md ("Reliability and threat model") quotes these figures).
 *
 * FUZZ_RUNS / FUZZ_SECONDS override the defaults, e.g. `FUZZ_RUNS=100000 FUZZ_SECONDS=600`
 * for a long local run. FUZZ_SEED replays another seed.
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';

export const SEED = Number(process.env.FUZZ_SEED ?? 20_231_116);
export const RUNS = Number(process.env.FUZZ_RUNS ?? 15_000);
/** Per property. Generous: on an idle core every property finishes its runs well within it. */
export const TIME_LIMIT_MS = Number(process.env.FUZZ_SECONDS ?? 25) * 1000;

export interface PropertyFigures {
  readonly property: string;
  readonly runs: number;
  readonly interrupted: boolean;
  readonly ms: number;
}

export const figures: PropertyFigures[] = [];
/** Free-text lines printed under the table (coverage of outcomes, etc.). */
export const notes: string[] = [];

function record(name: string, details: fc.RunDetails<unknown>, started: number): void {
  figures.push({ property: name, runs: details.numRuns, interrupted: details.interrupted, ms: Date.now() - started });
  if (details.failed) {
    const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    throw new Error(`${name}\n${fc.defaultReportMessage(details)}\nCounterexample (strings cut to 300):\n${readable(details.counterexample)}\nError: ${error}`);
  }
}

/** JSON with long strings cut, so a counterexample with a 300 KiB input stays readable. */
export function readable(value: unknown): string {
  return JSON.stringify(
    value,
    (_k, v) => (typeof v === 'string' && v.length > 300 ? `${v.slice(0, 300)}…(${v.length} chars)` : v instanceof Set ? { Set: [...v] } : v === undefined ? '(undefined)' : v),
    1,
  );
}

export function runProperty<Ts>(name: string, property: fc.IProperty<Ts>, runs = RUNS): void {
  const started = Date.now();
  const details = fc.check(property, { seed: SEED, numRuns: runs, plugins: [fc.interruptAfterTimeLimit(TIME_LIMIT_MS)] });
  record(name, details as fc.RunDetails<unknown>, started);
}

export async function runAsyncProperty<Ts>(name: string, property: fc.IAsyncProperty<Ts>, runs = RUNS): Promise<void> {
  const started = Date.now();
  const details = await fc.check(property, { seed: SEED, numRuns: runs, plugins: [fc.interruptAfterTimeLimit(TIME_LIMIT_MS)] });
  record(name, details as fc.RunDetails<unknown>, started);
}

/** A table of what ran; printed once at the end of the suite. */
export function figuresTable(): string {
  const rows = figures.map((f) => `| ${f.property} | ${f.runs}${f.interrupted ? ' (time limit)' : ''} | ${(f.ms / 1000).toFixed(1)} s |`);
  return ['| property | cases | time |', '| --- | --- | --- |', ...rows, ...notes].join('\n');
}

/**
 * Cheap assertions for property bodies: jest's `expect` costs tens of microseconds per
 * call, which at 10,000 cases × dozens of checks dominates the run time.
 */
export function check(condition: unknown, what: string, context?: unknown): asserts condition {
  if (!condition) throw new Error(context === undefined ? what : `${what}: ${readable(context)}`);
}

export function same(actual: unknown, expected: unknown, what: string): void {
  if (!isDeepStrictEqual(actual, expected)) throw new Error(`${what}: expected ${readable(expected)}, got ${readable(actual)}`);
}
