/**
 * One worker process of the breaker fuzzer (fuzz.ts splits the worlds over several, so
 * 500 worlds use every core): receives { seed, indexes } over IPC, answers one
 * { world } per world and { done } at the end, or { error }.
 */
import { runIndexes } from './fuzz';

if (require.main === module) {
  process.once('message', (job: { seed: number; indexes: number[] }) => {
    runIndexes(job.seed, job.indexes, (world) => process.send!({ world })).then(
      () => process.send!({ done: true }, () => process.exit(0)),
      (e: unknown) => process.send!({ error: (e as Error).stack ?? String(e) }, () => process.exit(1)),
    );
  });
}
