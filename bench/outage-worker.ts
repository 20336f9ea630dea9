/**
 * Runs one outage simulation in its own process (bench/run.ts starts one per redriver so
 * they use both cores). Receives { spec, scenario } over IPC, answers { result } or { error }.
 */
import { type OutageScenario, type RedriverSpec, runOutage } from './outage';

process.once('message', (message: { spec: RedriverSpec; scenario: OutageScenario }) => {
  const send = (payload: unknown, code: number) => process.send!(payload, () => process.exit(code));
  runOutage(message.spec, message.scenario, { progress: (text) => process.send!({ progress: text }) }).then(
    (result) => send({ result }, 0),
    (e: unknown) => send({ error: (e as Error).stack ?? String(e) }, 1),
  );
});
