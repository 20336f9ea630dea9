/**
 * Runs one simulated-time job (an outage or trickle run for one redriver) in its own
 * process: bench/run.ts runs several at once so that they use every core. Receives a
 * SimJob over IPC, answers { result } or { error }, with { progress } lines meanwhile.
 */
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

export function runJob(job: SimJob, progress: (text: string) => void): Promise<unknown> {
  if (job.world === 'storm') return runStorm(job.scenario, { progress });
  if (job.world === 'budget') return runBudget(job.scenario, { progress });
  return job.world === 'outage' ? runOutage(job.spec, job.scenario, { progress }) : runTrickle(job.spec, job.scenario, { progress });
}

if (require.main === module) {
  process.once('message', (job: SimJob) => {
    const send = (payload: unknown, code: number) => process.send!(payload, () => process.exit(code));
    runJob(job, (text) => process.send!({ progress: text })).then(
      (result) => send({ result }, 0),
      (e: unknown) => send({ error: (e as Error).stack ?? String(e) }, 1),
    );
  });
}
