import * as http from 'node:http';
import { startLocal } from '../local/environment';
import { SimClock } from '../local/sim-clock';
import { createMachine, startExecution } from '../test/support/local';

async function main() {
  const clock = new SimClock(Date.UTC(2026, 0, 12));
  const env = await startLocal({ detachBus: true, clock: clock.now, sleep: clock.sleep, standIn: { clock: clock.now } });
  const sm = await createMachine(env, 'x', 'arn:aws:lambda:us-east-1:123456789012:function:x', { kind: 'fail', error: 'Lambda.ServiceException' });
  const arns: string[] = [];
  for (let i = 0; i < 1000; i += 50) arns.push(...(await Promise.all(Array.from({ length: 50 }, (_, j) => startExecution(env, sm, `e-${i + j}`)))));
  await env.standIn.idle();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 50 });
  const url = new URL(env.endpoints.sfn);
  const call = (arn: string) => new Promise<void>((resolve, reject) => {
    const body = JSON.stringify({ executionArn: arn });
    const req = http.request({ host: url.hostname, port: url.port, method: 'POST', path: '/', agent, headers: { 'x-amz-target': 'AWSStepFunctions.RedriveExecution', 'content-type': 'application/x-amz-json-1.0', 'content-length': Buffer.byteLength(body) } }, (res) => { res.resume(); res.on('end', () => resolve()); });
    req.on('error', reject); req.end(body);
  });
  const t = Date.now();
  for (let round = 0; round < 10; round++) {
    for (let i = 0; i < arns.length; i += 250) await Promise.all(arns.slice(i, i + 250).map(call));
    await env.standIn.idle();
  }
  console.log('10000 raw redrives', Date.now() - t, 'ms', env.standIn.redrives.length);
  await env.stop(); agent.destroy();
}
main();
