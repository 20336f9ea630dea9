/**
 * One redrive rate for the whole controller: several "Lambda instances" (separate wirings
 * sharing the tables, each handling events concurrently) never exceed it together.
 * Real clock: the limiter's slots are checked against the stand-in's call timestamps.
 */
import { handleStatusChange } from '../../lambda/controller';
import { InMemoryMetrics, MemoryLog } from '../../lambda/observability/telemetry';
import { wire } from '../../lambda/wiring';
import { startLocal } from '../../local/environment';
import { createMachine, startExecution } from '../support/local';

test('8 instances x 10 concurrent events stay under the configured 25 redrives/s', async () => {
  const rate = 25;
  const env = await startLocal({ detachBus: true, config: { redriveRatePerSecond: rate, maxRateWaitMs: 10_000 } });
  try {
    await env.putPolicy({ stateMachine: '*', intervalSeconds: 0, maxRedrives: 1 });
    const sm = await createMachine(env, 'burst', 'arn:aws:lambda:us-east-1:123456789012:function:b', { kind: 'fail', error: 'Lambda.ServiceException' });
    await Promise.all(Array.from({ length: 80 }, (_, i) => startExecution(env, sm, `b-${i}`)));
    await env.standIn.idle();
    const failures = env.standIn.events.filter((e) => e.detail.status === 'FAILED');
    expect(failures).toHaveLength(80);

    const instances = Array.from({ length: 8 }, () => wire(env.config, { log: new MemoryLog(), metrics: new InMemoryMetrics(), dynamodb: env.dynamodb }));
    const started = Date.now();
    await Promise.all(failures.map((event, i) => handleStatusChange(event, instances[i % instances.length])));
    const elapsed = Date.now() - started;

    const times = env.standIn.calls.filter((c) => c.op === 'RedriveExecution').map((c) => c.at).sort((a, b) => a - b);
    expect(times).toHaveLength(80);
    // Sliding one-second windows: never more than the rate (+2: a call may run up to one interval after its slot).
    let maxInWindow = 0;
    for (let i = 0, j = 0; i < times.length; i++) {
      while (times[i] - times[j] >= 1000) j++;
      maxInWindow = Math.max(maxInWindow, i - j + 1);
    }
    expect(maxInWindow).toBeLessThanOrEqual(rate + 2);
    // And it is not slower than it must be: 80 at 25/s is ~3.2 s.
    expect(elapsed).toBeGreaterThanOrEqual(((80 - 1) / rate) * 1000 - 100);
  } finally {
    await env.stop();
  }
});
