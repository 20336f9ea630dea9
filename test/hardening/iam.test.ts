/**
 * Least privilege and data safety of the synthesized stack (asset bundling skipped):
 *  - every IAM action the Lambdas are granted is one the code sends (read from
 *    lambda/** by test/hardening/support/sdk-usage.ts), per function and per table;
 *    every action the code sends is granted; no `*` action; `*` and wildcard resources
 *    only from an allow-list with a reason each;
 *  - encryption at rest on every table, queue and topic; TTL on the ledger (audit
 *    records), none on the policy table; point-in-time recovery on both;
 *  - environment variables are configuration only;
 *  - end to end on the local stand-in: execution input never reaches a log line, a
 *    metric, an audit entry, a ledger record or an owner event.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ENV, ORG_ENV } from '../../contract/environment';
import { handleStatusChange } from '../../lambda/event-path';
import { drain } from '../../lambda/scheduled-drain';
import type { MemoryLog } from '../../lambda/observability/telemetry';
import { AutoRedrive, type AutoRedriveProps } from '../../lib/auto-redrive';
import { flatten, list, logicalIdOf, newApp, removeOutdirs, type Statement } from '../lib/helpers';
import { createMachine, FIXTURE_START, simEnv } from '../support/local';
import { LAMBDA_DIR, type TableRole, usageOf } from './support/sdk-usage';

afterAll(removeOutdirs);

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';

// ---- the rules, with their reasons ----------------------------------------------------

/** Actions granted for the Lambda runtime, not sent by the code. */
const RUNTIME_ACTIONS: Record<string, string> = {
  'logs:CreateLogStream': 'the Lambda runtime writes the function logs; scoped to its own log group',
  'logs:PutLogEvents': 'the Lambda runtime writes the function logs; scoped to its own log group',
  'sqs:SendMessage': "Lambda's asynchronous invocation sends events that failed every attempt to the DLQ with the function role; scoped to the DLQ",
};

/** Actions the code can send but the Lambdas never do, so they are deliberately not granted. */
const NOT_SENT_BY_THE_LAMBDAS: Record<string, string> = {
  'dynamodb:DeleteItem': 'KillSwitch.resume(); only redrivectl resumes, with the operator credentials (checked below: no lambda/ code calls it)',
  'sts:AssumeRole': 'AccountRouter, organization mode only; granted there on the member roles only (checked on the organization stack)',
};

/** Resource "*": allowed only for these actions. */
const STAR_RESOURCE_OK: Record<string, string> = {
  'states:ListStateMachines': 'has no resource-level permissions (Service Authorization Reference lists no resource type); the drain needs it to expand policy patterns',
};

/** Wildcards inside ARNs, allowed with a reason. */
const PARTIAL_WILDCARDS: Array<{ readonly pattern: RegExp; readonly reason: string }> = [
  {
    pattern: /^arn:(aws|<AWS::Partition>):states:[a-z0-9-]+:\d{12}:execution:([^:*]+|\*):\*$/,
    reason: 'execution ARNs embed execution ids not known in advance; limited to executions of one state machine, or of every machine in this account and Region when not narrowed',
  },
  {
    pattern: /^arn:(aws|<AWS::Partition>):states:[a-z0-9-]+:\d{12}:stateMachine:\*$/,
    reason: 'ListExecutions for the reconciliation sweep on state machines chosen in the policy table at run time (set stateMachineArns to narrow)',
  },
  { pattern: /^<\w+\.Arn>\/index\/\*$/, reason: "the indexes of this one table (the ledger's byDue index)" },
];

const ALLOWED_ENV = new Set<string>([
  ...Object.values(ENV),
  ...Object.values(ORG_ENV),
  'POWERTOOLS_SERVICE_NAME',
  'POWERTOOLS_METRICS_NAMESPACE',
  'NODE_OPTIONS',
  'AWS_NODEJS_CONNECTION_REUSE_ENABLED',
]);

// ---- synthesis ------------------------------------------------------------------------------

interface Synth {
  readonly stack: Stack;
  readonly ar: AutoRedrive;
  readonly resources: Record<string, any>;
  readonly fn: Record<'controller' | 'drain', string>;
  readonly table: Record<TableRole, string>;
}

function synth(props: AutoRedriveProps = {}): Synth {
  const app = newApp();
  const stack = new Stack(app, 'Hardening', { env: { account: ACCOUNT, region: REGION } });
  const ar = new AutoRedrive(stack, 'AutoRedrive', props);
  return {
    stack,
    ar,
    resources: Template.fromStack(stack).toJSON().Resources,
    fn: { controller: logicalIdOf(stack, ar.controller), drain: logicalIdOf(stack, ar.drain) },
    table: { policy: logicalIdOf(stack, ar.policyTable), ledger: logicalIdOf(stack, ar.ledgerTable) },
  };
}

const ofType = (s: Synth, type: string) => Object.entries(s.resources).filter(([, r]) => r.Type === type);

/** Allow statements of the role a function runs as (its identity policies and inline role policies). */
function roleStatements(s: Synth, functionId: string): Statement[] {
  const roleId = s.resources[functionId].Properties.Role['Fn::GetAtt'][0] as string;
  const role = s.resources[roleId];
  const inline = (role.Properties.Policies ?? []).flatMap((p: any) => p.PolicyDocument.Statement);
  const attached = ofType(s, 'AWS::IAM::Policy')
    .filter(([, p]) => (p.Properties.Roles as Array<{ Ref: string }>).some((r) => r.Ref === roleId))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
  return [...inline, ...attached];
}

interface Grant {
  readonly action: string;
  readonly resource: string;
}

function grants(statements: Statement[]): Grant[] {
  return statements.filter((st) => st.Effect === 'Allow').flatMap((st) => list(st.Action).flatMap((action) => list(st.Resource).map((r) => ({ action, resource: flatten(r) }))));
}

/** Which table (if any) a flattened resource is. */
function tableOf(s: Synth, resource: string): TableRole | undefined {
  for (const role of ['policy', 'ledger'] as const) {
    const arn = `<${s.table[role]}.Arn>`;
    if (resource === arn || resource === `${arn}/index/*`) return role;
  }
  return undefined;
}

const VARIANTS: Array<[string, AutoRedriveProps]> = [
  ['default', {}],
  ['narrowed to two state machines', { stateMachineArns: [`arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:orders`, `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:billing`] }],
  ['organization mode', { organization: { memberAccounts: ['111111111111', '222222222222'], externalId: 'auto-redrive-ext-1', organizationId: 'o-abcdef1234' } }],
];

const usage = { controller: usageOf('controller.ts'), drain: usageOf('drain.ts') };
const stacks = new Map<string, Synth>();
const stackFor = (name: string) => {
  if (!stacks.has(name)) stacks.set(name, synth(VARIANTS.find(([n]) => n === name)![1]));
  return stacks.get(name)!;
};

// ---- least privilege ---------------------------------------------------------------------

describe('least privilege', () => {
  test('the code scan finds what the Lambdas send (sanity of the scanner)', () => {
    for (const u of Object.values(usage)) {
      expect([...u.actions]).toEqual(expect.arrayContaining(['states:RedriveExecution', 'states:DescribeExecution', 'events:PutEvents']));
      expect([...u.tables.policy]).toEqual(['dynamodb:Scan']);
      expect([...u.tables.ledger]).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query']));
    }
    // The reconciliation sweep (ListExecutions, ListStateMachines) is reachable from the drain only.
    const reconcile = join(LAMBDA_DIR, 'reconcile.ts');
    expect(usage.drain.files.has(reconcile)).toBe(true);
    expect(usage.controller.files.has(reconcile)).toBe(false);
  });

  test('no Lambda code resumes or pauses the kill switch (so DeleteItem is not granted)', () => {
    for (const file of [...usage.controller.files, ...usage.drain.files]) {
      if (file.endsWith(join('record', 'kill-switch.ts'))) continue;
      expect([file, /\.(resume|pause)\(/.test(readFileSync(file, 'utf8'))]).toEqual([file, false]);
    }
  });

  test.each(VARIANTS.map(([n]) => [n]))('%s: every granted action is one the function sends, on the table it sends it to', (name) => {
    const s = stackFor(name);
    for (const fnName of ['controller', 'drain'] as const) {
      const used = usage[fnName];
      const unused: string[] = [];
      for (const g of grants(roleStatements(s, s.fn[fnName]))) {
        if (RUNTIME_ACTIONS[g.action]) continue;
        const table = tableOf(s, g.resource);
        const ok = g.action.startsWith('dynamodb:') ? table !== undefined && used.tables[table].has(g.action) : used.actions.has(g.action);
        if (!ok) unused.push(`${g.action} on ${g.resource}`);
      }
      expect([fnName, unused]).toEqual([fnName, []]);
    }
  });

  test.each(VARIANTS.map(([n]) => [n]))('%s: every action the code sends is granted (or deliberately not, with a reason)', (name) => {
    const s = stackFor(name);
    const granted = new Set<string>();
    for (const fnName of ['controller', 'drain'] as const) {
      for (const g of grants(roleStatements(s, s.fn[fnName]))) {
        const table = tableOf(s, g.resource);
        granted.add(table ? `${table}:${g.action}` : g.action);
      }
    }
    const missing: string[] = [];
    for (const u of Object.values(usage)) {
      for (const a of u.actions) if (!granted.has(a) && !(a in NOT_SENT_BY_THE_LAMBDAS && !(name === 'organization mode' && a === 'sts:AssumeRole'))) missing.push(a);
      for (const t of ['policy', 'ledger'] as const) for (const a of u.tables[t]) if (!granted.has(`${t}:${a}`) && !(a in NOT_SENT_BY_THE_LAMBDAS)) missing.push(`${a} on the ${t} table`);
    }
    expect([...new Set(missing)]).toEqual([]);
  });

  test.each(VARIANTS.map(([n]) => [n]))('%s: no "*" action; "*" and wildcard resources only where allowed, with a reason', (name) => {
    const s = stackFor(name);
    const problems: string[] = [];
    for (const fnName of ['controller', 'drain'] as const) {
      for (const g of grants(roleStatements(s, s.fn[fnName]))) {
        if (g.action.includes('*')) problems.push(`${fnName}: wildcard action ${g.action}`);
        if (g.resource === '*') {
          if (!STAR_RESOURCE_OK[g.action]) problems.push(`${fnName}: ${g.action} on "*"`);
        } else if (g.resource.includes('*') && !PARTIAL_WILDCARDS.some((w) => w.pattern.test(g.resource))) {
          problems.push(`${fnName}: ${g.action} on ${g.resource}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  test('the controller cannot list or sweep; only the drain can', () => {
    const s = stackFor('default');
    const actions = (fn: string) => new Set(grants(roleStatements(s, fn)).map((g) => g.action));
    expect(actions(s.fn.controller).has('states:ListExecutions')).toBe(false);
    expect(actions(s.fn.controller).has('states:ListStateMachines')).toBe(false);
    expect(actions(s.fn.drain).has('states:ListExecutions')).toBe(true);
  });

  test('organization mode: sts:AssumeRole only on the listed member roles, nothing account-wide', () => {
    const s = stackFor('organization mode');
    for (const fnName of ['controller', 'drain'] as const) {
      const assume = grants(roleStatements(s, s.fn[fnName])).filter((g) => g.action === 'sts:AssumeRole').map((g) => g.resource).sort();
      expect(assume).toEqual(['111111111111', '222222222222'].map((a) => `arn:<AWS::Partition>:iam::${a}:role/AutoRedriveMember`));
    }
  });

  test('roles: assumable by Lambda only, no managed policies', () => {
    for (const [name] of VARIANTS) {
      const s = stackFor(name);
      for (const fnName of ['controller', 'drain'] as const) {
        const role = s.resources[s.resources[s.fn[fnName]].Properties.Role['Fn::GetAtt'][0]];
        expect(role.Properties.ManagedPolicyArns ?? []).toEqual([]);
        const trust = role.Properties.AssumeRolePolicyDocument.Statement;
        expect(trust).toEqual([{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } }]);
      }
    }
  });

  test('resource policies allow no anonymous principal without a condition', () => {
    const problems: string[] = [];
    for (const [name] of VARIANTS) {
      const s = stackFor(name);
      for (const [id, r] of Object.entries(s.resources)) {
        const doc = r.Properties?.PolicyDocument ?? r.Properties?.Policy;
        if (!doc || r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::Role') continue;
        for (const st of list(doc.Statement ?? []) as any[]) {
          const anyone = st.Principal === '*' || list(st.Principal?.AWS ?? []).includes('*');
          if (st.Effect === 'Allow' && anyone && !st.Condition) problems.push(`${name}: ${id} ${JSON.stringify(st.Action)}`);
        }
      }
      // The central bus of organization mode: only the member accounts, within the organization.
      for (const [, r] of ofType(s, 'AWS::Events::EventBusPolicy')) {
        expect(r.Properties.Statement?.Condition ?? r.Properties.Condition ?? JSON.stringify(r.Properties)).toBeTruthy();
      }
    }
    expect(problems).toEqual([]);
  });
});

// ---- data at rest -----------------------------------------------------------------------------

describe('data at rest', () => {
  test.each(VARIANTS.map(([n]) => [n]))('%s: every table, queue and topic is encrypted', (name) => {
    const s = stackFor(name);
    const tables = ofType(s, 'AWS::DynamoDB::Table');
    expect(tables).toHaveLength(2);
    for (const [id, t] of tables) expect([id, t.Properties.SSESpecification?.SSEEnabled]).toEqual([id, true]);
    const queues = ofType(s, 'AWS::SQS::Queue');
    expect(queues.length).toBeGreaterThan(0);
    for (const [id, q] of queues) expect([id, q.Properties.SqsManagedSseEnabled === true || q.Properties.KmsMasterKeyId !== undefined]).toEqual([id, true]);
    for (const [id, t] of ofType(s, 'AWS::SNS::Topic')) expect([id, t.Properties.KmsMasterKeyId !== undefined]).toEqual([id, true]);
    for (const [id, k] of ofType(s, 'AWS::KMS::Key')) expect([id, k.Properties.EnableKeyRotation]).toEqual([id, true]);
  });

  test('the ledger expires its records (audit trail) by TTL; the policy table never does; both have point-in-time recovery', () => {
    const s = stackFor('default');
    const ledger = s.resources[s.table.ledger].Properties;
    const policy = s.resources[s.table.policy].Properties;
    expect(ledger.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    expect(policy.TimeToLiveSpecification).toBeUndefined();
    for (const t of [ledger, policy]) expect(t.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
  });

  test.each(VARIANTS.map(([n]) => [n]))('%s: environment variables are configuration only', (name) => {
    const s = stackFor(name);
    for (const [id, f] of ofType(s, 'AWS::Lambda::Function')) {
      const vars = (f.Properties.Environment?.Variables ?? {}) as Record<string, unknown>;
      for (const [k, v] of Object.entries(vars)) {
        expect([id, k, ALLOWED_ENV.has(k)]).toEqual([id, k, true]);
        expect([id, k, /SECRET|PASSWORD|TOKEN|CREDENTIAL|PRIVATE|ACCESS_KEY/i.test(k)]).toEqual([id, k, false]);
        const text = typeof v === 'string' ? v : flatten(v);
        // Names, numbers, ARNs, references: nothing that looks like a key, a JSON document or a blob.
        expect([id, k, text]).toEqual([id, k, expect.stringMatching(/^[\w.:/@,=+<>-]{0,256}$/)]);
        expect([id, k, /AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}/.test(text)]).toEqual([id, k, false]);
      }
    }
  });
});

// ---- execution input never leaves Step Functions ---------------------------------------------

describe('data safety end to end', () => {
  test('execution input and output never reach logs, metrics, the ledger, the audit trail or owner events', async () => {
    const SECRET = 'INPUT-S3CR3T-e2e';
    const env = await simEnv(FIXTURE_START, { detachBus: true });
    try {
      await env.putPolicy({ stateMachine: '*', intervalSeconds: 0, maxRedrives: 1 });
      const lambda = 'arn:aws:lambda:us-east-1:123456789012:function:leaky';
      // Fails every time: a redrive, then limit-reached (an owner event with the cause).
      const sm = await createMachine(env, 'leaky', lambda, { kind: 'fail', error: 'Lambda.ServiceException', cause: 'downstream said no' });
      const started = await env.sfn.send(new StartExecutionCommand({ stateMachineArn: sm, name: 'leaky-1', input: JSON.stringify({ password: SECRET }) }));
      for (let i = 0; i < 3; i++) {
        await env.standIn.idle();
        for (const e of env.standIn.events.filter((x) => x.detail.executionArn === started.executionArn)) {
          await handleStatusChange(structuredClone(e), env.deps);
          // The same event, broken: a malformed event must not echo its input either.
          await handleStatusChange({ ...structuredClone(e), detail: { ...e.detail, redriveCount: -1 } }, env.deps);
        }
        await drain(env.deps);
      }
      expect(env.standIn.events.some((e) => e.detail.input.includes(SECRET))).toBe(true); // the input was there to leak
      expect(env.notifier.events.map((e) => e.detailType)).toContain('Auto Redrive Exhausted');

      const ledger = await env.dynamodb.send(new ScanCommand({ TableName: env.config.ledgerTableName }));
      const everything = JSON.stringify({
        log: (env.log as MemoryLog).lines,
        metrics: env.metrics.points,
        owners: env.notifier.events,
        ledger: ledger.Items,
      });
      expect(everything.length).toBeGreaterThan(1000);
      expect(everything).not.toContain(SECRET);
    } finally {
      await env.stop();
    }
  });
});
