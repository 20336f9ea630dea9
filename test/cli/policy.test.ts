/** redrivectl policy list | get | put | delete | validate, as a child process against dynalite. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { LOCAL_TABLES } from '../../local/environment';
import { ACTOR, type CliEnv, expectOneErrorLine, parseJson, runCli, startCliEnv, tableItems } from './helpers';

const ORDERS = 'arn:aws:states:us-east-1:123456789012:stateMachine:orders-*';
const BILLING = 'arn:aws:states:us-east-1:123456789012:stateMachine:billing';

let h: CliEnv;
let dir: string;
const file = (name: string, content: unknown) => {
  const p = path.join(dir, name);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return p;
};
const cli = (...args: string[]) => runCli(args, h.env);
const stored = async (key: string) =>
  (await h.local.deps.doc.send(new GetCommand({ TableName: LOCAL_TABLES.policy, Key: { stateMachine: key }, ConsistentRead: true }))).Item;
const policies = () => tableItems(h.local, LOCAL_TABLES.policy);

beforeAll(async () => {
  h = await startCliEnv();
  dir = mkdtempSync(path.join(tmpdir(), 'redrivectl-policy-'));
});
afterAll(() => h.stop());

test('list on an empty table says how to start', async () => {
  const r = await cli('policy', 'list');
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('no policies in table auto-redrive-policies');
});

test('put creates a policy: diff, schema-normalized values, updatedAt/updatedBy; no TTY and no --yes refuses', async () => {
  const r = await cli('policy', 'put', '*', '--max-redrives', '2', '--jitter', 'none', '--statuses', 'FAILED, TIMED_OUT', '--yes', '-o', 'json');
  expect(r.code).toBe(0);
  const out = parseJson(r) as { applied: boolean; policies: Array<{ key: string; action: string; changes: Array<{ field: string; new: unknown }> }> };
  expect(out.applied).toBe(true);
  expect(out.policies[0]).toMatchObject({ key: '*', action: 'create' });
  expect(out.policies[0].changes).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ field: 'maxRedrives', new: 2 }),
      expect.objectContaining({ field: 'jitter', new: 'NONE' }),
      expect.objectContaining({ field: 'statuses', new: ['FAILED', 'TIMED_OUT'] }),
    ]),
  );
  const item = await stored('*');
  expect(item).toMatchObject({ stateMachine: '*', maxRedrives: 2, jitter: 'NONE', statuses: ['FAILED', 'TIMED_OUT'], updatedBy: ACTOR });
  expect(Date.parse(item!.updatedAt)).toBeGreaterThan(Date.now() - 60_000);

  // Merge over the stored item, shown as a field-by-field diff; refused without a terminal.
  const before = await policies();
  const refused = await cli('policy', 'put', '*', '--max-redrives', '4', '--description', 'default');
  expect(refused.stdout).toMatch(/update policy \*:/);
  expect(refused.stdout).toMatch(/~\s+maxRedrives\s+2\s+4/);
  expect(refused.stdout).toMatch(/\+\s+description\s+-\s+default/);
  expectOneErrorLine(refused, 'policy put: refusing', '--yes');
  expect(refused.code).toBe(2);
  expect(await policies()).toBe(before);

  const same = await cli('policy', 'put', '*', '--max-redrives', '2');
  expect(same.code).toBe(0);
  expect(same.stdout).toContain('no changes');
});

test('bad input: one line naming what and where, non-zero exit, nothing written', async () => {
  const before = await policies();
  const cases: Array<[string[], number, string[]]> = [
    [['policy', 'put', 'arn:aws:states:us-east-1:1234:stateMachine:x', '--yes'], 2, ["account '1234' is not a 12-digit account id"]],
    [['policy', 'put', BILLING, '--max-redrives', 'abc', '--yes'], 2, [BILLING, 'maxRedrives (--max-redrives): must be a number']],
    [['policy', 'put', BILLING, '--jitter', 'SOME', '--yes'], 2, ['jitter (--jitter): must be FULL or NONE']],
    [['policy', 'get', 'arn:aws:states:us-east-1:123456789012:stateMachine:unknown'], 1, ["no policy 'arn:aws:states:us-east-1:123456789012:stateMachine:unknown'"]],
    [['policy', 'delete', BILLING, '--yes'], 1, [`no policy '${BILLING}'`]],
    [['policy', 'put', '--from-file', path.join(dir, 'missing.json'), '--yes'], 2, ['missing.json: cannot read: no such file']],
    [['policy', 'put', '--from-file', file('broken.json', '[{"stateMachine": "*",'), '--yes'], 2, ['broken.json: not valid JSON']],
    [['policy', 'polish'], 2, ["unknown command 'polish'"]],
    [['policy', 'put', BILLING, '--max-redrive', '3'], 2, ["unknown option '--max-redrive'"]],
  ];
  for (const [args, code, fragments] of cases) {
    const r = await cli(...args);
    expectOneErrorLine(r, ...fragments);
    expect({ args, code: r.code }).toEqual({ args, code });
  }
  expect(await policies()).toBe(before);
});

test('put --from-file validates every item first and applies all or nothing', async () => {
  const before = await policies();
  const bad = file('policies.json', [
    { stateMachine: BILLING, maxRedrives: 1 },
    { stateMachine: ORDERS, maxRedrives: 2000 },
  ]);
  const r = await cli('policy', 'put', '--from-file', bad, '--yes');
  expectOneErrorLine(r, `policies.json: item 2 (${ORDERS}): maxRedrives: must be from 0 to 1000`);
  expect(r.code).toBe(2);
  expect(await policies()).toBe(before); // item 1 was valid but is not written either

  const several = file('several.json', [{ stateMachine: BILLING, maxRedrive: 1, jitter: 3 }, { maxRedrives: 1 }]);
  const r2 = await cli('policy', 'put', '--from-file', several, '--yes');
  expect(r2.code).toBe(2);
  const lines = r2.stderr.trimEnd().split('\n');
  expect(lines).toEqual([
    expect.stringContaining(`item 1 (${BILLING}): jitter`),
    expect.stringContaining(`item 1 (${BILLING}): maxRedrive: unknown attribute`),
    expect.stringContaining('item 2 ((no stateMachine key)): stateMachine'),
  ]);
  expect(await policies()).toBe(before);

  const good = file('good.json', [
    { stateMachine: BILLING, maxRedrives: '1', enabled: 'false', description: 'billing' },
    { stateMachine: ORDERS, intervalSeconds: 30, errorEquals: ['Lambda.*'] },
  ]);
  const ok = await cli('policy', 'put', '--from-file', good, '--yes');
  expect(ok.code).toBe(0);
  expect(ok.stdout).toContain(`policy ${BILLING} created`);
  expect(await stored(BILLING)).toMatchObject({ maxRedrives: 1, enabled: false, description: 'billing', updatedBy: ACTOR });
  expect(await stored(ORDERS)).toMatchObject({ intervalSeconds: 30, errorEquals: ['Lambda.*'] });
});

test('get and list show stored values and the defaults that apply', async () => {
  const g = await cli('policy', 'get', ORDERS, '-o', 'json');
  expect(g.code).toBe(0);
  const got = parseJson(g) as { valid: boolean; item: Record<string, unknown>; effective: Record<string, unknown> };
  expect(got.valid).toBe(true);
  expect(got.item).toMatchObject({ stateMachine: ORDERS, intervalSeconds: 30 });
  expect(got.effective).toMatchObject({ maxRedrives: 3, intervalSeconds: 30, jitter: 'FULL', errorEquals: ['Lambda.*'] });

  const table = await cli('policy', 'get', ORDERS);
  expect(table.stdout).toMatch(/intervalSeconds\s+30\s+stored/);
  expect(table.stdout).toMatch(/maxRedrives\s+3\s+default/);

  const l = await cli('policy', 'list', '-o', 'json');
  const listed = parseJson(l) as { policies: Array<{ key: string; valid: boolean }> };
  expect(listed.policies.map((p) => p.key)).toEqual(['*', BILLING, ORDERS].sort((a, b) => a.localeCompare(b)));
});

test('validate: every stored item (and files) with the Lambda schema; exit 1 naming key, field, message', async () => {
  const ok = await cli('policy', 'validate');
  expect(ok.code).toBe(0);
  expect(ok.stdout).toContain('3 policies, all valid');

  // Hand-edited in the console: a typo'd attribute and a number as a bad string.
  const broken = 'arn:aws:states:us-east-1:123456789012:stateMachine:hand-edited';
  await h.local.putPolicy({ stateMachine: broken, maxRedrive: 3, backoffRate: '2x' });
  const r = await cli('policy', 'validate', '-o', 'json');
  expect(r.code).toBe(1);
  expectOneErrorLine(r, '1 of 4 policies are invalid');
  const out = parseJson(r) as { checked: number; invalid: number; issues: Array<{ key: string; field: string; message: string }> };
  expect(out).toMatchObject({ checked: 4, invalid: 1 });
  expect(out.issues).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ key: broken, field: 'backoffRate' }),
      expect.objectContaining({ key: broken, field: 'maxRedrive', message: expect.stringContaining('unknown attribute') }),
    ]),
  );

  const list = await cli('policy', 'list');
  expect(list.stdout).toMatch(new RegExp(`${broken.replace(/[.*]/g, '\\$&')}\\s+no \\(2\\)`));

  const f = await cli('policy', 'validate', file('check.json', [{ stateMachine: '*' }, { stateMachine: 'arn:aws:states:us-east-1:123456789012:stateMachine:x', statuses: ['FAILED', 'RUNNING'] }]));
  expect(f.code).toBe(1);
  expect(f.stdout).toMatch(/item 2\s+statuses/);
  const fine = await cli('policy', 'validate', file('fine.json', { stateMachine: '*', maxRedrives: 5 }));
  expect(fine.code).toBe(0);

  // Fixed from the CLI: --unset removes the misspelt attribute.
  const fixed = await cli('policy', 'put', broken, '--unset', 'maxRedrive', '--backoff-rate', '2', '--yes');
  expect(fixed.code).toBe(0);
  expect(fixed.stdout).toMatch(/-\s+maxRedrive\s+3\s+-/);
  expect(await stored(broken)).not.toHaveProperty('maxRedrive');
  expect(await stored(broken)).toMatchObject({ backoffRate: 2 });
});

test('delete asks (refused without a terminal), then deletes with --yes', async () => {
  const refused = await cli('policy', 'delete', BILLING);
  expect(refused.code).toBe(2);
  expect(refused.stdout).toContain(`delete policy ${BILLING}`);
  expect(await stored(BILLING)).toBeDefined();

  const r = await cli('policy', 'delete', BILLING, '--yes', '-o', 'json');
  expect(r.code).toBe(0);
  expect(parseJson(r)).toMatchObject({ key: BILLING, deleted: true });
  expect(await stored(BILLING)).toBeUndefined();
});

test('put --max-redrives-per-hour sets the redrive budget (get shows it); a wrong value is refused naming the field and the flag', async () => {
  const key = 'arn:aws:states:us-east-1:123456789012:stateMachine:budgeted';
  const bad = await cli('policy', 'put', key, '--max-redrives-per-hour', 'many', '--yes');
  expectOneErrorLine(bad, key, 'maxRedrivesPerHour (--max-redrives-per-hour): must be a number');
  expect(bad.code).toBe(2);
  const zero = await cli('policy', 'put', key, '--max-redrives-per-hour', '0', '--yes');
  expectOneErrorLine(zero, 'maxRedrivesPerHour (--max-redrives-per-hour): must be from 1 to');
  expect(await stored(key)).toBeUndefined();

  const r = await cli('policy', 'put', key, '--max-redrives-per-hour', '120', '--yes');
  expect(r.code).toBe(0);
  expect(await stored(key)).toMatchObject({ stateMachine: key, maxRedrivesPerHour: 120 });
  const g = await cli('policy', 'get', key);
  expect(g.stdout).toMatch(/maxRedrivesPerHour\s+120\s+stored/);
});

test('put --never-at-states / --only-at-states: comma-separated state lists; an empty --only-at-states is refused naming the flag', async () => {
  const key = 'arn:aws:states:us-east-1:123456789012:stateMachine:payments';
  const r = await cli('policy', 'put', key, '--never-at-states', 'ChargeCard, Send*', '--only-at-states', 'Validate,TIMED_OUT', '--yes');
  expect(r.code).toBe(0);
  expect(await stored(key)).toMatchObject({ neverAtStates: ['ChargeCard', 'Send*'], onlyAtStates: ['Validate', 'TIMED_OUT'] });
  const bad = await cli('policy', 'put', key, '--only-at-states', ' ', '--yes');
  expectOneErrorLine(bad, 'onlyAtStates (--only-at-states): must list at least one state');
  expect(bad.code).toBe(2);
});
