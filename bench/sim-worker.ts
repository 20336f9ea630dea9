/**
 * Runs one simulated-time job (an outage or trickle run for one redriver) in its own
 * process at the lowest CPU priority: bench/run.ts runs them beside the real-clock sections,
 * on every core. Receives a SimJob over IPC, answers { result, cpuSeconds } or { error },
 * with { progress } lines meanwhile.
 */
import { readdirSync } from 'node:fs';
import * as os from 'node:os';
import { type BudgetScenario, runBudget } from './budget';
import { type OutageScenario, runOutage } from './outage';
import type { RedriverSpec } from './sim-scenario';
import { runStorm, type StormScenario } from './storm';
import { runTrickle, type TrickleScenario } from './trickle';

export type SimJob =
  | { readonly world: 'outage'; readonly spec: RedriverSpec; readonly scenario: OutageScenario }
  | { readonly world: 'trickle'; readonly spec: RedriverSpec; readonly scenario: TrickleScenario }
  | { readonly world: 'storm'; readonly scenario: StormScenario }
  | { readonly world: 'budget'; readonly scenario: BudgetScenario };

/**
 * Lowers this process to the lowest CPU priority. On Linux a priority belongs to a thread,
 * and V8's helper threads (garbage collection) exist before any script runs, so each thread
 * of the process is lowered; elsewhere, the process.
 */
export function lowerOwnPriority(): void {
  let threads: number[] = [];
  try {
    threads = readdirSync('/proc/self/task').map(Number);
  } catch {
    // no /proc: the process's priority is all there is
  }
  for (const id of threads.length > 0 ? threads : [0]) {
    try {
      os.setPriority(id, os.constants.priority.PRIORITY_LOW);
    } catch {
      // a thread that ended meanwhile, or a platform that refuses: run at the normal priority
    }
  }
}

/** What a worker sends: progress lines, then its result (with its CPU time) or its error. */
export interface WorkerMessage {
  readonly progress?: string;
  readonly result?: unknown;
  readonly cpuSeconds?: number;
  readonly error?: string;
}

export function runJob(job: SimJob, progress: (text: string) => void): Promise<unknown> {
  if (job.world === 'storm') return runStorm(job.scenario, { progress });
  if (job.world === 'budget') return runBudget(job.scenario, { progress });
  return job.world === 'outage' ? runOutage(job.spec, job.scenario, { progress }) : runTrickle(job.spec, job.scenario, { progress });
}

if (require.main === module) {
  // A worker runs beside the real-clock sections (bench/run.ts): it takes only the CPU they leave idle.
  lowerOwnPriority();
  process.once('message', (job: SimJob) => {
    const send = (payload: WorkerMessage, code: number) => process.send!(payload, () => process.exit(code));
    runJob(job, (text) => process.send!({ progress: text } satisfies WorkerMessage)).then(
      (result) => {
        const { user, system } = process.cpuUsage();
        send({ result, cpuSeconds: (user + system) / 1e6 }, 0);
      },
      (e: unknown) => send({ error: (e as Error).stack ?? String(e) }, 1),
    );
  });
}
