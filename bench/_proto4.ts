import { fork } from 'node:child_process';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { handleStatusChange } from '../lambda/controller';
import { InMemoryMetrics, MemoryLog } from '../lambda/observability/telemetry';
import { wire } from '../lambda/wiring';
import { startLocal, LOCAL_TABLES } from '../local/environment';
import { createTable } from '../local/dynamodb';
import { LEDGER_TABLE, POLICY_TABLE } from '../lib/table-definitions';
import { PutCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createMachine, startExecution } from '../test/support/local';

async function main() {
  const N = Number(process.argv[2] ?? 1000), rate = Number(process.argv[3] ?? 100), W = Number(process.argv[4] ?? 20);
  const child = fork(__dirname + '/_dyn.cjs');
  const port = await new Promise<number>((r) => child.once('message', (m: any) => r(m.port)));
  const endpoint = `http://127.0.0.1:${port}`;
  const env = await startLocal({ detachBus: true, config: { redriveRatePerSecond: rate }, standIn: { throttle: { RedriveExecution: { bucketSize: 650, refillPerSecond: 150 } } } });
  const admin = new DynamoDBClient({ endpoint });
  await createTable(admin, LOCAL_TABLES.policy, POLICY_TABLE);
  await createTable(admin, LOCAL_TABLES.ledger, LEDGER_TABLE);
  await DynamoDBDocumentClient.from(admin).send(new PutCommand({ TableName: LOCAL_TABLES.policy, Item: { stateMachine: '*', intervalSeconds: 0, maxRedrives: 1 } }));
  const sm = await createMachine(env, 'burst', 'arn:aws:lambda:us-east-1:123456789012:function:b', { kind: 'fail-times', times: 1, error: 'Lambda.ServiceException' });
  let t = Date.now();
  for (let i = 0; i < N; i += 100) await Promise.all(Array.from({ length: Math.min(100, N - i) }, (_, j) => startExecution(env, sm, `b-${i + j}`)));
  await env.standIn.idle();
  const failures = env.standIn.events.filter((e) => e.detail.status === 'FAILED');
  console.log('setup', Date.now() - t, failures.length);
  const counts: Record<string, number> = {};
  const instances = Array.from({ length: W }, () => {
    const c = new DynamoDBClient({ endpoint });
    c.middlewareStack.add((next, ctx) => async (args) => { counts[(ctx as any).commandName] = (counts[(ctx as any).commandName] ?? 0) + 1; return next(args); }, { step: 'initialize' });
    return wire(env.config, { log: new MemoryLog(), metrics: new InMemoryMetrics(), dynamodb: c });
  });
  t = Date.now();
  let next = 0;
  const cpu0 = process.cpuUsage();
  const outs: any[] = [];
  await Promise.all(instances.map(async (deps) => { while (next < failures.length) { const e = failures[next++]; outs.push(await handleStatusChange(e, deps)); } }));
  const el = Date.now() - t;
  const cpu = process.cpuUsage(cpu0);
  console.log('elapsed', el, 'rate', (N / el) * 1000, 'redrives', env.standIn.redrives.length, 'cpu', (cpu.user + cpu.system) / 1000);
  const acts: Record<string, number> = {}; for (const o of outs) acts[o.action] = (acts[o.action] ?? 0) + 1;
  console.log(counts, acts);
  child.send('cpu'); console.log('child cpu', await new Promise((r) => child.once('message', (m: any) => r(m.cpu))));
  await env.stop(); child.kill();
}
main();
