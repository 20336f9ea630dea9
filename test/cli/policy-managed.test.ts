/**
 * redrivectl and policy items a CDK app manages (RedrivePolicy, `managedBy`): put and
 * delete refuse them without --force and say why; list shows which items are managed.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { LOCAL_TABLES } from '../../local/environment';
import { ACTOR, type CliEnv, parseJson, runCli, startCliEnv } from './helpers';

const ORDERS = 'arn:aws:states:us-east-1:123456789012:stateMachine:orders';
const MANAGED = { stateMachine: ORDERS, maxRedrives: 5, managedBy: 'OrdersStack/OrdersRedrive', updatedBy: 'cloudformation', updatedAt: '2026-01-01T00:00:00.000Z' };

let h: CliEnv;
const cli = (...args: string[]) => runCli(args, h.env);
const stored = async (key: string) =>
  (await h.local.deps.doc.send(new GetCommand({ TableName: LOCAL_TABLES.policy, Key: { stateMachine: key }, ConsistentRead: true }))).Item;

beforeAll(async () => {
  h = await startCliEnv();
});
afterAll(() => h.stop());
beforeEach(async () => {
  await h.local.putPolicy(MANAGED);
  await h.local.putPolicy({ stateMachine: '*', maxRedrives: 1 });
});

test('list shows which items a CDK app manages (table and JSON)', async () => {
  const table = await cli('policy', 'list');
  expect(table.code).toBe(0);
  const lines = table.stdout.split('\n');
  expect(lines[0]).toMatch(/\bMANAGED-BY\b/);
  expect(lines.find((l) => l.startsWith(ORDERS))).toMatch(/stack OrdersStack/);
  expect(lines.find((l) => l.startsWith('*'))).not.toMatch(/stack /);
  const json = parseJson(await cli('policy', 'list', '-o', 'json')) as { policies: Array<{ key: string; valid: boolean; managedBy: string | null }> };
  // managedBy is part of the schema: the controller and the CLI accept the item.
  expect(json.policies.map((p) => [p.key, p.valid, p.managedBy])).toEqual([
    ['*', true, null],
    [ORDERS, true, 'OrdersStack/OrdersRedrive'],
  ]);
});

test('put refuses a managed item without --force, says why, writes nothing; unmanaged items are unaffected', async () => {
  const r = await cli('policy', 'put', ORDERS, '--max-redrives', '9', '--yes');
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(`redrivectl: policy put: policy '${ORDERS}' is managed by CloudFormation stack OrdersStack (RedrivePolicy OrdersStack/OrdersRedrive): change it in that CDK app and deploy`);
  expect(r.stderr).toContain('overwritten by the next deploy that updates this policy');
  expect(r.stderr).toContain('--force');
  expect(await stored(ORDERS)).toEqual(MANAGED);
  expect((await cli('policy', 'put', '*', '--max-redrives', '2', '--yes')).code).toBe(0);
});

test('put --force changes it, keeps it managed, and warns that a deploy will overwrite it', async () => {
  const r = await cli('policy', 'put', ORDERS, '--enabled', 'false', '--yes', '--force');
  expect(r.code).toBe(0);
  expect(r.stderr).toMatch(/--force: the next deploy that updates it overwrites this change/);
  expect(await stored(ORDERS)).toMatchObject({ enabled: false, maxRedrives: 5, managedBy: 'OrdersStack/OrdersRedrive', updatedBy: ACTOR });
});

test('put --from-file is refused for a managed item too; forced, the item stays managed', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'redrivectl-managed-'));
  const file = path.join(dir, 'policies.json');
  writeFileSync(file, JSON.stringify([{ stateMachine: ORDERS, maxRedrives: 3 }]));
  expect((await cli('policy', 'put', '--from-file', file, '--yes')).code).toBe(1);
  expect(await stored(ORDERS)).toEqual(MANAGED);
  expect((await cli('policy', 'put', '--from-file', file, '--yes', '--force')).code).toBe(0);
  expect(await stored(ORDERS)).toMatchObject({ maxRedrives: 3, managedBy: 'OrdersStack/OrdersRedrive' });
});

test('delete refuses a managed item without --force; with it, deletes', async () => {
  const r = await cli('policy', 'delete', ORDERS, '--yes');
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(`redrivectl: policy delete: policy '${ORDERS}' is managed by CloudFormation stack OrdersStack`);
  expect(await stored(ORDERS)).toEqual(MANAGED);
  expect((await cli('policy', 'delete', ORDERS, '--yes', '--force')).code).toBe(0);
  expect(await stored(ORDERS)).toBeUndefined();
});
