import { RedriveExecutionCommand } from '@aws-sdk/client-sfn';
import { startLocal } from '../local/environment';
import { SimClock } from '../local/sim-clock';
import { createMachine, startExecution } from '../test/support/local';

async function main() {
  const clock = new SimClock(Date.UTC(2026, 0, 12));
  const env = await startLocal({ detachBus: true, clock: clock.now, sleep: clock.sleep, standIn: { clock: clock.now } });
  const sm = await createMachine(env, 'x', 'arn:aws:lambda:us-east-1:123456789012:function:x', { kind: 'fail', error: 'Lambda.ServiceException' });
  let t = Date.now();
  const arns: string[] = [];
  for (let i = 0; i < 1000; i += 50) arns.push(...(await Promise.all(Array.from({ length: 50 }, (_, j) => startExecution(env, sm, `e-${i + j}`)))));
  await env.standIn.idle();
  console.log('1000 starts', Date.now() - t, 'ms');
  t = Date.now();
  for (let round = 0; round < 10; round++) {
    for (let i = 0; i < arns.length; i += 250) await Promise.all(arns.slice(i, i + 250).map((a) => env.sfn.send(new RedriveExecutionCommand({ executionArn: a }))));
    await env.standIn.idle();
  }
  console.log('10000 redrives', Date.now() - t, 'ms', env.standIn.redrives.length);
  await env.stop();
}
main();
