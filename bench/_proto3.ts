import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { handleStatusChange } from '../lambda/controller';
import { InMemoryMetrics, MemoryLog } from '../lambda/observability/telemetry';
import { wire } from '../lambda/wiring';
import { startLocal } from '../local/environment';
import { createMachine, startExecution } from '../test/support/local';

async function main() {
  const N = Number(process.argv[2] ?? 1000), rate = Number(process.argv[3] ?? 100), W = 20;
  const env = await startLocal({ detachBus: true, config: { redriveRatePerSecond: rate }, standIn: { throttle: { RedriveExecution: { bucketSize: 650, refillPerSecond: 150 } } } });
  await env.putPolicy({ stateMachine: '*', intervalSeconds: 0, maxRedrives: 1 });
  const sm = await createMachine(env, 'burst', 'arn:aws:lambda:us-east-1:123456789012:function:b', { kind: 'fail-times', times: 1, error: 'Lambda.ServiceException' });
  let t = Date.now();
  for (let i = 0; i < N; i += 100) await Promise.all(Array.from({ length: Math.min(100, N - i) }, (_, j) => startExecution(env, sm, `b-${i + j}`)));
  await env.standIn.idle();
  const failures = env.standIn.events.filter((e) => e.detail.status === 'FAILED');
  console.log('setup', Date.now() - t, failures.length);
  const counts: Record<string, number> = {};
  const instances = Array.from({ length: W }, () => {
    const c = new DynamoDBClient({});
    c.middlewareStack.add((next, ctx) => async (args) => { counts[(ctx as any).commandName] = (counts[(ctx as any).commandName] ?? 0) + 1; return next(args); }, { step: 'initialize' });
    return wire(env.config, { log: new MemoryLog(), metrics: new InMemoryMetrics(), dynamodb: c });
  });
  t = Date.now();
  let next = 0;
  let cpu0 = process.cpuUsage();
  await Promise.all(instances.map(async (deps) => { while (next < failures.length) { const e = failures[next++]; await handleStatusChange(e, deps); } }));
  const el = Date.now() - t;
  const cpu = process.cpuUsage(cpu0);
  console.log('elapsed', el, 'rate', (N / el) * 1000, 'redrives', env.standIn.redrives.length, 'cpu', (cpu.user + cpu.system) / 1000);
  console.log(counts, env.standIn.calls.filter(c=>c.op==='RedriveExecution').length);
  await env.stop();
}
main();
