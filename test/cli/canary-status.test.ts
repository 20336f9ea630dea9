/** redrivectl status: each canary's last recovery from the status items, or that none was recorded. */
import { canaryStateMachineName } from '../../contract/canary';
import { CanaryStatusStore } from '../../lambda/record/canary-status';
import { LOCAL_TABLES } from '../../local/environment';
import { age } from '../../cli/canary-status';
import { type CliEnv, parseJson, runCli, startCliEnv } from './helpers';

let h: CliEnv;
const cli = (...args: string[]) => runCli(args, h.env);

beforeAll(async () => {
  h = await startCliEnv();
});
afterAll(() => h.stop());

const arns = (account: string, region: string) => ({
  stateMachineArn: `arn:aws:states:${region}:${account}:stateMachine:${canaryStateMachineName('Prod')}`,
  executionArn: `arn:aws:states:${region}:${account}:execution:${canaryStateMachineName('Prod')}:run-1`,
});

test('status says no canary recovery was recorded, then shows each canary\'s last recovery: when, how long, how long ago', async () => {
  const none = await cli('status');
  expect(none.code).toBe(0);
  expect(none.stdout).toMatch(/Canary:\s+no recovery recorded/);
  expect(parseJson(await cli('status', '-o', 'json')).canaries).toEqual([]);

  const store = new CanaryStatusStore(h.local.deps.doc, LOCAL_TABLES.ledger);
  const now = Date.now();
  const recent = new Date(now - 3_700_000).toISOString();
  const old = new Date(now - 3 * 86_400_000).toISOString();
  await store.recordRecovery('111122223333', 'eu-west-1', { ...arns('111122223333', 'eu-west-1'), failedAt: new Date(now - 3_707_000).toISOString(), recoveredAt: recent, recoverySeconds: 7 });
  await store.recordRecovery('444455556666', 'us-east-1', { ...arns('444455556666', 'us-east-1'), recoveredAt: old });

  const text = await cli('status');
  expect(text.code).toBe(0);
  // The oldest (the one to look at) first.
  expect(text.stdout).toMatch(/Canary 444455556666 us-east-1:\s+last recovery \S+ \(3d 0h ago\), duration unknown, 1 recorded\n.*Canary 111122223333 eu-west-1:\s+last recovery \S+ \(1h 1m ago\), 7s from failure to success, 1 recorded/s);

  const json = parseJson(await cli('status', '-o', 'json'));
  expect(json.canaries).toEqual([
    expect.objectContaining({ account: '444455556666', region: 'us-east-1', recoveredAt: old, recoverySeconds: null, recoveries: 1, ageSeconds: expect.any(Number) }),
    expect.objectContaining({ account: '111122223333', region: 'eu-west-1', recoveredAt: recent, recoverySeconds: 7, recoveries: 1, ...arns('111122223333', 'eu-west-1') }),
  ]);
});

test('age', () => {
  expect([age(0), age(59), age(61), age(3_660), age(90_000)]).toEqual(['0s', '59s', '1m 1s', '1h 1m', '1d 1h']);
});
