/**
 * `redrivectl --local doctor` as users run it (a child process) against the stand-ins,
 * with the local EventBridge rule: every check runs or says why not; then things broken
 * on purpose (pause, the rule's target removed, an invalid hand-written policy) make the
 * matching check fail with its fix.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { EventBridgeClient, PutTargetsCommand, RemoveTargetsCommand } from '@aws-sdk/client-eventbridge';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { CANARY_STATUS_PK, canaryStatusSk } from '../../contract/canary';
import { statusChangePattern } from '../../contract/event-pattern';
import type { LocalState } from '../../cli/local-state';
import { LOCAL_ACCOUNT, LOCAL_REGION, LOCAL_TABLES } from '../../local/environment';
import { type LocalRule, startLocalRule, type EventBridgeStandIn } from '../../local/eventbridge';
import { type CliEnv, createMachine, parseJson, runCli, startCliEnv, startExecution } from './helpers';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const TASK = 'arn:aws:lambda:us-east-1:123456789012:function:doctor';

let h: CliEnv;
let rule: LocalRule;
let bridge: EventBridgeStandIn;
let events: EventBridgeClient;
let env: NodeJS.ProcessEnv;

interface Report {
  id: string;
  status: string;
  detail: string;
  fix: string | null;
}

async function doctor(): Promise<{ code: number | null; checks: Record<string, Report>; stderr: string }> {
  const r = await runCli(['--local', 'doctor', '-o', 'json'], env);
  const doc = parseJson(r) as { checks: Report[] };
  return { code: r.code, checks: Object.fromEntries(doc.checks.map((c) => [c.id, c])), stderr: r.stderr };
}

beforeAll(async () => {
  const started = await startLocalRule(LOCAL_ACCOUNT, LOCAL_REGION, statusChangePattern({}));
  [rule, bridge] = [started.rule, started.standIn];
  h = await startCliEnv({ delivery: { ruleDelivers: () => rule.deliversToController } });
  const state: LocalState = {
    endpoints: { sfn: h.local.endpoints.sfn, dynamodb: h.local.endpoints.dynamodb, sqs: h.env.AWS_ENDPOINT_URL_SQS! },
    tables: { policy: LOCAL_TABLES.policy, ledger: LOCAL_TABLES.ledger },
    dlqUrl: h.dlqUrl,
    region: LOCAL_REGION,
    redriveRatePerSecond: h.local.config.redriveRatePerSecond,
    eventBridge: { endpoint: started.endpoint, ruleName: rule.name, controllerArn: rule.controllerArn },
    account: LOCAL_ACCOUNT,
    startedAt: new Date().toISOString(),
  };
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'doctor-')), 'local.json');
  writeFileSync(file, JSON.stringify(state));
  env = { ...h.env, AUTO_REDRIVE_LOCAL_STATE: file };
  events = new EventBridgeClient({ endpoint: started.endpoint, region: LOCAL_REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });

  const machine = await createMachine(h.local, 'doctor-orders', TASK);
  h.local.standIn.setBehaviour(TASK, { kind: 'fail', error: 'Lambda.ServiceException' });
  await h.local.putPolicy({ stateMachine: machine, maxRedrives: 1, intervalSeconds: 0 });
});

afterAll(async () => {
  events.destroy();
  await bridge.close();
  await h.stop();
});

test('healthy: every check runs or says why not; exit 0', async () => {
  const r = await doctor();
  expect(r.code).toBe(0);
  expect(Object.keys(r.checks)).toEqual([
    'stack',
    'rule',
    'lambda-errors',
    'dlq',
    'kill-switch',
    'policies',
    'policy-targets',
    'uncovered-failures',
    'canary',
    'redrive-permission',
    'rate-quota',
  ]);
  for (const id of ['stack', 'rule', 'dlq', 'kill-switch', 'policies', 'policy-targets', 'uncovered-failures']) expect([id, r.checks[id].status]).toEqual([id, 'ok']);
  for (const id of ['lambda-errors', 'redrive-permission', 'rate-quota']) {
    expect(r.checks[id]).toMatchObject({ status: 'not-checked', detail: expect.stringContaining('not checked locally') });
  }
  // No canary on this stand-in: the check says so.
  expect(r.checks.canary).toMatchObject({ status: 'warn', detail: expect.stringContaining('canary off') });
});

test('bad input: --canary-interval is a number of minutes (exit 2)', async () => {
  const r = await runCli(['--local', 'doctor', '--canary-interval', 'soon'], env);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain("--canary-interval 'soon' must be a number of minutes");
});

test('paused: the kill switch check fails with resume as the fix; exit 1', async () => {
  expect((await runCli(['--local', 'pause', '--reason', 'doctor test'], env)).code).toBe(0);
  const r = await doctor();
  expect(r.code).toBe(1);
  expect(r.checks['kill-switch']).toMatchObject({ status: 'fail', detail: expect.stringContaining('doctor test'), fix: expect.stringContaining('redrivectl resume') });
  expect(r.stderr).toContain('redrivectl: doctor: 1 check(s) failed: kill-switch');
  const table = await runCli(['--local', 'doctor'], env);
  expect(table.stdout).toMatch(/^FAIL\s+kill switch\s+PAUSED .*; fix: redrivectl resume/m);
  await runCli(['--local', 'resume'], env);
});

test("the rule's target removed: the rule check fails, and no event reaches the controller until it is back", async () => {
  await events.send(new RemoveTargetsCommand({ Rule: rule.name, Ids: ['Controller'] }));
  const r = await doctor();
  expect(r.code).toBe(1);
  expect(r.checks.rule).toMatchObject({ status: 'fail', detail: expect.stringContaining('does not target the controller'), fix: expect.stringContaining('npm run local') });

  const delivered = h.local.bus.delivered.length;
  const machine = await createMachine(h.local, 'doctor-unrouted', TASK);
  await startExecution(h.local, machine, 'lost');
  await h.local.settle();
  expect(h.local.bus.delivered.length).toBe(delivered);

  await events.send(new PutTargetsCommand({ Rule: rule.name, Targets: [{ Id: 'Controller', Arn: rule.controllerArn }] }));
  expect((await doctor()).checks.rule.status).toBe('ok');
});

test('an invalid hand-written policy item: the policies check fails, naming the field', async () => {
  await h.local.putPolicy({ stateMachine: 'arn:aws:states:us-east-1:123456789012:stateMachine:doctor-typo', maxRedrive: 1 });
  const r = await doctor();
  expect(r.code).toBe(1);
  expect(r.checks.policies).toMatchObject({ status: 'fail', detail: expect.stringContaining('maxRedrive'), fix: expect.stringContaining('redrivectl policy validate') });
});

test("a canary recovery recorded as the controller writes it: the canary check is ok (dynalite's Query)", async () => {
  const recoveredAt = new Date(Date.now() - 5 * 60_000).toISOString();
  await h.local.deps.doc.send(
    new PutCommand({ TableName: LOCAL_TABLES.ledger, Item: { pk: CANARY_STATUS_PK, sk: canaryStatusSk(LOCAL_ACCOUNT, LOCAL_REGION), recoveredAt, recoveries: 1 } }),
  );
  const r = await doctor();
  expect(r.checks.canary).toMatchObject({ status: 'ok', detail: expect.stringContaining(recoveredAt) });
});
