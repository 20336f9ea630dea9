/**
 * One rate for everyone: redrivectl release and backfill use the deployed controller's
 * RedriveExecution rate (here 10/s, recorded by its drain on the limiter's lease item, or
 * with --local the local stand-ins' config), and --rate may only lower it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { LOCAL_REGION, LOCAL_TABLES } from '../../local/environment';
import { drain } from '../../lambda/scheduled-drain';
import { DynamoRateLimiter, readRecordedRate } from '../../lambda/act/rate-limiter';
import { type CliEnv, createMachine, expectOneErrorLine, parseJson, runCli, startCliEnv, startExecution } from './helpers';

jest.setTimeout(120_000);

const TASK = 'arn:aws:lambda:us-east-1:123456789012:function:rated';
const DEPLOYED = 10;

let h: CliEnv;
let machine: string;
const cli = (...args: string[]) => runCli(args, h.env);
const leaseKey = { pk: 'RATE', sk: 'LEASES#RedriveExecution' }; // lambda/act/rate-limiter.ts

beforeAll(async () => {
  h = await startCliEnv({ config: { redriveRatePerSecond: DEPLOYED } });
  await h.local.putPolicy({ stateMachine: '*', intervalSeconds: 0, maxRedrives: 0, onExhausted: 'hold', breaker: { enabled: false } });
  machine = await createMachine(h.local, 'rated', TASK);
  h.local.standIn.setBehaviour(TASK, { kind: 'fail-times', times: 1, error: 'Lambda.ServiceException' });
});
afterAll(() => h.stop());

/** A failure held after exhaustion (released by hand). */
async function heldExecution(name: string): Promise<string> {
  const arn = await startExecution(h.local, machine, name);
  await h.local.settle();
  expect(await h.local.deps.ledger.get(arn, 0)).toMatchObject({ state: 'held', reason: 'exhausted' });
  return arn;
}

test('the drain records the deployed rate on the lease item; after a redeploy at another rate, the next drain run records that one', async () => {
  const recorded = () => readRecordedRate(h.local.deps.doc, LOCAL_TABLES.ledger, 'RedriveExecution');
  await drain(h.local.deps);
  expect(await recorded()).toMatchObject({ ratePerSecond: DEPLOYED });
  // A drain of a deployment at 4/s (its own limiter object, as a new Lambda instance has) ...
  await new DynamoRateLimiter(h.local.deps.doc, LOCAL_TABLES.ledger, 'RedriveExecution', 4).publishRate(Date.now());
  expect(await recorded()).toMatchObject({ ratePerSecond: 4 });
  // ... and back at 10/s.
  await drain(h.local.deps);
  expect(await recorded()).toMatchObject({ ratePerSecond: DEPLOYED });
});

test('default: release and backfill run at the deployed rate, not the built-in 50/s', async () => {
  const arn = await heldExecution('default-0');
  const released = parseJson(await cli('release', arn, '--yes', '-o', 'json'));
  expect(released).toMatchObject({ rate: DEPLOYED, summary: { redriven: 1 } });
  const backfill = parseJson(await cli('backfill', '--state-machine', machine, '--since', '1h', '--dry-run', '-o', 'json'));
  expect(backfill).toMatchObject({ rate: DEPLOYED });
});

test('--rate lowers it', async () => {
  const arn = await heldExecution('lower-0');
  expect(parseJson(await cli('release', arn, '--rate', '2.5', '--yes', '-o', 'json'))).toMatchObject({ rate: 2.5, summary: { redriven: 1 } });
  expect(parseJson(await cli('backfill', '--state-machine', machine, '--since', '1h', '--rate', '4', '--dry-run', '-o', 'json'))).toMatchObject({ rate: 4 });
});

test('--rate above the deployed rate is refused (exit 2), naming it; nothing is released', async () => {
  const arn = await heldExecution('higher-0');
  for (const args of [['release', arn, '--rate', '11', '--yes'], ['backfill', '--state-machine', machine, '--since', '1h', '--rate', '50', '--yes']]) {
    const r = await cli(...args);
    expectOneErrorLine(r, `${args[0]}: --rate ${args.at(-2)} is above the controller's deployed rate of ${DEPLOYED}/s (redriveRatePerSecond); --rate may only lower it`);
    expect(r.code).toBe(2);
  }
  expect(await h.local.deps.ledger.get(arn, 0)).toMatchObject({ state: 'held' });
});

test('no recorded rate (a controller from before): the built-in default, with a note', async () => {
  await h.local.deps.doc.send(new UpdateCommand({ TableName: LOCAL_TABLES.ledger, Key: leaseKey, UpdateExpression: 'REMOVE ratePerSecond, rateRecordedAt' }));
  try {
    const r = await cli('backfill', '--state-machine', machine, '--since', '1h', '--dry-run', '-o', 'json');
    expect(parseJson(r)).toMatchObject({ rate: 50 });
    expect(r.stderr).toContain('the controller has recorded no rate');
  } finally {
    await drain(h.local.deps);
  }
});

test('--local: the local stand-ins\' config is the deployed rate', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'redrivectl-rate-'));
  const file = path.join(dir, 'local.json');
  const state = {
    endpoints: { sfn: h.env.AWS_ENDPOINT_URL_SFN, dynamodb: h.env.AWS_ENDPOINT_URL_DYNAMODB, sqs: h.env.AWS_ENDPOINT_URL_SQS },
    tables: LOCAL_TABLES,
    dlqUrl: h.dlqUrl,
    region: LOCAL_REGION,
    redriveRatePerSecond: 3,
  };
  writeFileSync(file, JSON.stringify(state));
  const env = { ...h.env, AUTO_REDRIVE_LOCAL_STATE: file };
  const r = await runCli(['--local', 'backfill', '--state-machine', machine, '--since', '1h', '--rate', '5', '--yes'], env);
  expectOneErrorLine(r, "deployed rate of 3/s");
  expect(parseJson(await runCli(['--local', 'backfill', '--state-machine', machine, '--since', '1h', '--dry-run', '-o', 'json'], env))).toMatchObject({ rate: 3 });
});
