/** redrivectl pause | resume | status, dlq replay, and --local. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { LOCAL_REGION, LOCAL_TABLES } from '../../local/environment';
import { ACTOR, type CliEnv, createMachine, expectOneErrorLine, parseJson, runCli, startCliEnv, startExecution } from './helpers';

const TASK = 'arn:aws:lambda:us-east-1:123456789012:function:ops';

let h: CliEnv;
let sqs: SQSClient;
const cli = (...args: string[]) => runCli(args, h.env);
const depth = async () =>
  Number(
    (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: h.dlqUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] })))
      .Attributes?.ApproximateNumberOfMessages,
  );

beforeAll(async () => {
  h = await startCliEnv();
  sqs = new SQSClient({ endpoint: h.env.AWS_ENDPOINT_URL_SQS, region: LOCAL_REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
});
afterAll(async () => {
  sqs.destroy();
  await h.stop();
});

test('pause, status, resume', async () => {
  const p = await cli('pause', '--reason', 'payments outage');
  expect(p.code).toBe(0);
  expect(p.stdout).toContain('paused');
  expect(await h.local.deps.killSwitch.read()).toMatchObject({ paused: true, reason: 'payments outage', by: ACTOR });

  const s = await cli('status');
  expect(s.code).toBe(0);
  expect(s.stdout).toMatch(/Paused:\s+YES since \S+ by cli-test@jest: payments outage/);
  expect(s.stdout).toMatch(/DLQ depth:\s+0/);

  const r = await cli('resume', '-o', 'json');
  expect(parseJson(r)).toEqual({ paused: false, wasPaused: true });
  expect((await h.local.deps.killSwitch.read()).paused).toBe(false);
});

test('status: policies (+invalid), pending redrives, redrives and exhaustions of the last days, DLQ depth', async () => {
  const machine = await createMachine(h.local, 'ops-status', TASK);
  h.local.standIn.setBehaviour(TASK, { kind: 'fail', error: 'Lambda.ServiceException' });
  await h.local.putPolicy({ stateMachine: machine, maxRedrives: 1, intervalSeconds: 0 });
  await h.local.putPolicy({ stateMachine: 'arn:aws:states:us-east-1:123456789012:stateMachine:typo', maxRedrive: 1 });
  // Fails, is redriven once, fails again: limit reached (an exhaustion).
  await startExecution(h.local, machine, 'exhausted');
  await h.local.settle();
  // A pending redrive: a long backoff.
  const slow = await createMachine(h.local, 'ops-slow', TASK);
  await h.local.putPolicy({ stateMachine: slow, intervalSeconds: 3600, jitter: 'NONE' });
  await startExecution(h.local, slow, 'later');
  await h.local.settle();
  await sqs.send(new SendMessageCommand({ QueueUrl: h.dlqUrl, MessageBody: 'not an event' }));

  const r = await cli('status', '-o', 'json');
  expect(r.code).toBe(0);
  const out = parseJson(r) as Record<string, Record<string, unknown>>;
  expect(out.paused).toBe(false);
  expect(out.policies).toEqual({ count: 3, invalid: 1 });
  expect(out.pendingRedrives).toMatchObject({ count: 1 });
  expect(out.lastDays).toMatchObject({ redrives: 1, exhaustions: 1, scheduled: 1 });
  expect(out.lastDays.counts).toMatchObject({ 'redrive:no-delay:redriven': 1, 'skip:limit-reached:skipped': 1, 'redrive-later:backoff:scheduled': 1 });
  expect(out.dlq).toMatchObject({ url: h.dlqUrl, depth: 1 });

  const t = await cli('status');
  expect(t.stdout).toMatch(/Policies:\s+3 \(1 INVALID/);
  expect(t.stdout).toMatch(/Pending redrives:\s+1 \(oldest due/);
  expect(t.stdout).toMatch(/Exhaustions \(limit reached\):\s+1/);
  expect(t.stdout).toMatch(/DLQ depth:\s+1/);

  const noDlq = await runCli(['status', '-o', 'json'], { ...h.env, AUTO_REDRIVE_DLQ_URL: '' });
  expect(parseJson(noDlq).dlq).toMatchObject({ depth: null, note: expect.stringContaining('unknown') });
});

test('dlq replay: dry run changes nothing; replay redrives, deletes handled messages, keeps the rest', async () => {
  // A failure the controller skipped (no policy at the time); its event then sat in the DLQ.
  const machine = await createMachine(h.local, 'ops-replay', TASK);
  h.local.standIn.setBehaviour(TASK, { kind: 'fail-times', times: 1, error: 'Lambda.ServiceException' });
  const arn = await startExecution(h.local, machine, 'from-dlq');
  await h.local.settle();
  const event = h.local.standIn.events.find((e) => e.detail.executionArn === arn && e.detail.status === 'FAILED');
  expect(event).toBeDefined();
  await sqs.send(new SendMessageCommand({ QueueUrl: h.dlqUrl, MessageBody: JSON.stringify(event) }));
  await h.local.putPolicy({ stateMachine: machine, intervalSeconds: 0 });
  expect(await depth()).toBe(2); // and the garbage message from the status test

  const dry = await cli('dlq', 'replay', '--dry-run', '-o', 'json');
  expect(dry.code).toBe(0);
  const planned = parseJson(dry) as { messages: Array<Record<string, unknown>> };
  expect(planned.messages).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ executionArn: arn, decision: 'redrive', result: 'would-delete' }),
      expect.objectContaining({ result: 'kept', error: expect.stringContaining('not JSON') }),
    ]),
  );
  expect(await depth()).toBe(2); // released again at once
  expect(h.local.standIn.redrives.filter((r) => r.executionArn === arn)).toHaveLength(0);

  const r = await cli('dlq', 'replay');
  expect(r.code).toBe(1); // one message could not be replayed
  expectOneErrorLine(r, '1 message(s) could not be replayed and stay in the queue');
  expect(r.stdout).toMatch(new RegExp(`${arn}\\s+redrive\\s+no-delay\\s+redriven\\s+deleted`));
  expect(r.stdout).toMatch(/kept\s+the body is not JSON/);
  expect(h.local.standIn.redrives.filter((x) => x.executionArn === arn)).toHaveLength(1);
  expect(await depth()).toBe(1);
  const trail = await h.local.deps.audit.trail(arn);
  expect(trail.map((e) => `${e.source}:${e.decision}:${e.action}`)).toEqual(['event:skip:skipped', 'replay:redrive:redriven']);

  const max = await cli('dlq', 'replay', '--max', '0');
  expectOneErrorLine(max, "--max '0' must be a whole number");
  const none = await runCli(['dlq', 'replay'], { ...h.env, AUTO_REDRIVE_DLQ_URL: '' });
  expectOneErrorLine(none, 'dlq replay: no dead-letter queue: pass --dlq-url');
  expect(none.code).toBe(2);
});

test('--local reads the state file of `npm run local`; a missing file says how to start it', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'redrivectl-local-'));
  const stateFile = path.join(dir, 'local.json');
  writeFileSync(
    stateFile,
    JSON.stringify({
      endpoints: { sfn: h.local.endpoints.sfn, dynamodb: h.local.endpoints.dynamodb, sqs: h.env.AWS_ENDPOINT_URL_SQS },
      tables: { policy: LOCAL_TABLES.policy, ledger: LOCAL_TABLES.ledger },
      dlqUrl: h.dlqUrl,
      region: LOCAL_REGION,
    }),
  );
  // Nothing but the state file: no endpoints, tables, Region or credentials in the environment.
  const bare = { PATH: process.env.PATH, AWS_CONFIG_FILE: h.env.AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE: h.env.AWS_SHARED_CREDENTIALS_FILE };
  const r = await runCli(['--local', 'status', '-o', 'json'], { ...bare, AUTO_REDRIVE_LOCAL_STATE: stateFile });
  expect(r.code).toBe(0);
  expect(parseJson(r)).toMatchObject({ policies: { count: 4 }, dlq: { depth: 1 } });

  const missing = await runCli(['--local', 'status'], { ...bare, AUTO_REDRIVE_LOCAL_STATE: path.join(dir, 'none.json') });
  expectOneErrorLine(missing, 'start them with: npm run local');
  expect(missing.code).toBe(1);

  const noTable = await runCli(['policy', 'list'], bare);
  expectOneErrorLine(noTable, 'policy table: not set: pass --stack <name> (the deployed AutoRedriveStack), --policy-table or AUTO_REDRIVE_POLICY_TABLE');
});

test('status: state machines at their redrive budget, with the failures held over it', async () => {
  const task = 'arn:aws:lambda:us-east-1:123456789012:function:ops-budget';
  const machine = await createMachine(h.local, 'ops-budget', task);
  h.local.standIn.setBehaviour(task, { kind: 'fail', error: 'PaymentsApi.Unavailable' });
  await h.local.putPolicy({ stateMachine: machine, intervalSeconds: 0, maxRedrivesPerHour: 1, breaker: false });
  for (const name of ['b-0', 'b-1', 'b-2']) {
    await startExecution(h.local, machine, name);
    await h.local.settle();
  }
  const r = await cli('status', '-o', 'json');
  const out = parseJson(r) as { overBudget: { held: number; partial: boolean; stateMachines: Array<{ stateMachineArn: string; held: number; oldestStopped: string }> } };
  // One redrive an hour: b-0 is redriven (and fails again); its next failure, b-1 and b-2 are held.
  expect(out.overBudget).toMatchObject({ held: 3, partial: false, stateMachines: [{ stateMachineArn: machine, held: 3, oldestStopped: expect.any(String) }] });
  const t = await cli('status');
  expect(t.stdout).toMatch(/At redrive budget:\s+1 state machine\(s\), 3 failure\(s\) held over budget/);
  expect(t.stdout).toContain('At their redrive budget');
  expect(t.stdout).toContain(machine);
});
