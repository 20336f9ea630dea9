/**
 * One redrive rate for the whole controller: several "Lambda instances" (separate wirings
 * sharing the tables, each handling events concurrently) never exceed it together.
 * Real clock. Checked on the controller side (when each RedriveExecution call starts),
 * because arrival times at an in-process stand-in also measure this machine's scheduling.
 */
import { SFNClient } from '@aws-sdk/client-sfn';
import { handleStatusChange } from '../../lambda/event-path';
import { drain } from '../../lambda/scheduled-drain';
import { SdkStepFunctions, type StepFunctionsGateway } from '../../lambda/act/step-functions';
import { InMemoryMetrics, MemoryLog } from '../../lambda/observability/telemetry';
import { wire } from '../../lambda/wiring';
import { startLocal } from '../../local/environment';
import { createMachine, redrivesOf, startExecution } from '../support/local';

test('8 instances x 10 concurrent events stay under the configured 25 redrives/s; none lost, none twice', async () => {
  const rate = 25;
  const env = await startLocal({ detachBus: true, config: { redriveRatePerSecond: rate, maxRateWaitMs: 10_000 } });
  try {
    // Many executions failing with one error would open the outage breaker and be held (tests in
    // test/integration/breaker.test.ts); this test is about the rate limiter, so the breaker is off.
    await env.putPolicy({ stateMachine: '*', breaker: { enabled: false }, intervalSeconds: 0, maxRedrives: 1 });
    const sm = await createMachine(env, 'burst', 'arn:aws:lambda:us-east-1:123456789012:function:b', { kind: 'fail', error: 'Lambda.ServiceException' });
    const arns = await Promise.all(Array.from({ length: 80 }, (_, i) => startExecution(env, sm, `b-${i}`)));
    await env.standIn.idle();
    const failures = env.standIn.events.filter((e) => e.detail.status === 'FAILED');
    expect(failures).toHaveLength(80);

    const starts: number[] = [];
    const sdk = new SdkStepFunctions(new SFNClient({}));
    const recorded: StepFunctionsGateway = {
      redrive: (arn, token) => {
        starts.push(Date.now());
        return sdk.redrive(arn, token);
      },
      describe: (arn) => sdk.describe(arn),
      listStopped: (arn, status, since) => sdk.listStopped(arn, status, since),
      listStateMachines: () => sdk.listStateMachines(),
    };
    const instances = Array.from({ length: 8 }, () =>
      wire(env.config, { log: new MemoryLog(), metrics: new InMemoryMetrics(), dynamodb: env.dynamodb, stepFunctions: recorded }),
    );
    await Promise.all(failures.map((event, i) => handleStatusChange(event, instances[i % instances.length])));
    // Anything the limiter deferred (a slow machine) is pending, then drained: nothing lost.
    for (let i = 0; i < 60 && (await env.deps.ledger.backlog()).count > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      await drain(instances[0]);
    }
    for (const arn of arns) expect(redrivesOf(env, arn)).toBe(1);

    starts.sort((a, b) => a - b);
    let maxInWindow = 0;
    for (let i = 0, j = 0; i < starts.length; i++) {
      while (starts[i] - starts[j] >= 1000) j++;
      maxInWindow = Math.max(maxInWindow, i - j + 1);
    }
    // Grants are at most `rate` in any second (leased shares, exact spacing: unit tests of
    // lambda/act/rate-limiter.ts); a call here starts when its timer fires, which on a busy
    // machine can be late and bunch calls by up to that lateness (allowed: 250 ms).
    expect(maxInWindow).toBeLessThanOrEqual(Math.floor(rate * 1.25) + 1);
  } finally {
    await env.stop();
  }
});
