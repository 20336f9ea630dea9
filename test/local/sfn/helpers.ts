/** Shared set-up: a stand-in on a random port and a REAL SFNClient pointed at it. */
import { CreateStateMachineCommand, SFNClient } from '@aws-sdk/client-sfn';
import { StepFunctionsStandIn, type StandInOptions } from '../../../local/sfn';

export const ROLE_ARN = 'arn:aws:iam::123456789012:role/StandInRole';
export const CREDENTIALS = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' };

/** A simulated clock the test moves by hand. */
export function manualClock(start: number) {
  const clock = { now: start, fn: () => clock.now, advance: (ms: number) => void (clock.now += ms) };
  return clock;
}

export interface Harness {
  standIn: StepFunctionsStandIn;
  sfn: SFNClient;
  endpoint: string;
  close(): Promise<void>;
}

export async function startHarness(options: StandInOptions = {}, maxAttempts = 1): Promise<Harness> {
  const standIn = new StepFunctionsStandIn(options);
  const endpoint = await standIn.listen(0);
  // maxAttempts 1 by default so each test sees exactly the response the stand-in gave.
  const sfn = new SFNClient({ endpoint, region: 'us-east-1', credentials: CREDENTIALS, maxAttempts });
  return {
    standIn,
    sfn,
    endpoint,
    close: async () => {
      sfn.destroy();
      await standIn.close();
    },
  };
}

/** ASL for a straight line of Task states, one per resource. */
export function taskChain(...resources: string[]): string {
  const names = resources.map((_, i) => `Step${i + 1}`);
  const States = Object.fromEntries(
    resources.map((Resource, i) => [
      names[i],
      i === resources.length - 1 ? { Type: 'Task', Resource, End: true } : { Type: 'Task', Resource, Next: names[i + 1] },
    ]),
  );
  return JSON.stringify({ StartAt: names[0], States });
}

export async function createMachine(sfn: SFNClient, name: string, definition: string, type: 'STANDARD' | 'EXPRESS' = 'STANDARD') {
  const out = await sfn.send(new CreateStateMachineCommand({ name, definition, roleArn: ROLE_ARN, type }));
  return out.stateMachineArn as string;
}

/** Runs `fn` and returns the error it rejects with (fails the test if it resolves). */
export async function errorOf(fn: () => Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number }; $fault?: string }> {
  try {
    await fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** Copy of `obj` without `keys` (for comparisons that must ignore generated ids and metadata). */
export function without<T extends object>(obj: T, ...keys: string[]): Partial<T> {
  return Object.fromEntries(Object.entries(obj).filter(([k]) => !keys.includes(k))) as Partial<T>;
}
