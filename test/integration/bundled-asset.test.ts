/**
 * What `cdk deploy` ships works: `cdk synth` bundles the Lambda assets into cdk.out; this
 * test loads those bundles (not the TypeScript source) in fresh Node processes, with the
 * environment variables of the synthesized template, and redrives an execution on the
 * local stand-in through them.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { executionPk } from '../../lambda/record/failure-ledger';
import { startLocal, type LocalEnvironment } from '../../local/environment';
import { createMachine, startExecution } from '../support/local';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');
const OUT = join(ROOT, 'cdk.out');

interface BundledFunction {
  readonly dir: string;
  readonly handler: string;
  readonly env: Record<string, unknown>;
}

/** Finds a function's asset directory and its environment in the synthesized stack. */
function bundledFunction(logicalIdPrefix: string): BundledFunction {
  const template = JSON.parse(readFileSync(join(OUT, 'AutoRedrive.template.json'), 'utf8'));
  const assets = JSON.parse(readFileSync(join(OUT, 'AutoRedrive.assets.json'), 'utf8'));
  const [, fn] = Object.entries<any>(template.Resources).find(([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith(logicalIdPrefix))!;
  const key = fn.Properties.Code.S3Key as string;
  const asset = Object.values<any>(assets.files).find((a) => Object.values<any>(a.destinations).some((d) => d.objectKey === key));
  return { dir: join(OUT, asset.source.path), handler: fn.Properties.Handler, env: fn.Properties.Environment.Variables };
}

/** Template values with CloudFormation references resolved to the local tables. */
function localEnvironment(fn: BundledFunction, env: LocalEnvironment): Record<string, string> {
  const resolved: Record<string, string> = {};
  for (const [name, value] of Object.entries(fn.env)) {
    if (typeof value === 'string') resolved[name] = value;
    else if (name === 'POLICY_TABLE_NAME') resolved[name] = env.config.policyTableName;
    else if (name === 'LEDGER_TABLE_NAME') resolved[name] = env.config.ledgerTableName;
    else throw new Error(`unexpected reference in ${name}: ${JSON.stringify(value)}`);
  }
  return resolved;
}

/** Invokes the bundled handler once in a fresh Node process, as Lambda would. */
async function invoke(fn: BundledFunction, env: LocalEnvironment, event: unknown): Promise<{ result: any; stdout: string }> {
  const [file, exportName] = fn.handler.split('.');
  const script = `require(${JSON.stringify(join(fn.dir, `${file}.js`))}).${exportName}(JSON.parse(process.argv[1]))
    .then((r) => console.log('RESULT ' + JSON.stringify(r)), (e) => { console.error(e); process.exit(1); });`;
  const { stdout } = await run(process.execPath, ['-e', script, JSON.stringify(event)], {
    env: {
      PATH: process.env.PATH,
      ...localEnvironment(fn, env),
      AWS_ENDPOINT_URL_SFN: env.endpoints.sfn,
      AWS_ENDPOINT_URL_DYNAMODB: env.endpoints.dynamodb,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
  });
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  return { result: JSON.parse(line!.slice('RESULT '.length)), stdout };
}

let env: LocalEnvironment;

/** Moves an execution's pending redrive to "due now" in the ledger. */
async function makeDue(executionArn: string): Promise<void> {
  const TableName = env.config.ledgerTableName;
  const { Items = [] } = await env.deps.doc.send(
    new QueryCommand({ TableName, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :f)', ExpressionAttributeValues: { ':pk': executionPk(executionArn), ':f': 'FAILURE#' } }),
  );
  const pending = Items.filter((i) => i.state === 'pending');
  expect(pending).toHaveLength(1);
  await env.deps.doc.send(
    new UpdateCommand({ TableName, Key: { pk: pending[0].pk, sk: pending[0].sk }, UpdateExpression: 'SET dueAt = :past', ExpressionAttributeValues: { ':past': Date.now() - 1000 } }),
  );
}
beforeAll(async () => {
  await run('npx', ['cdk', 'synth', '--quiet'], { cwd: ROOT });
  env = await startLocal({ detachBus: true });
}, 120_000);
afterAll(async () => env?.stop());

test('the bundled controller redrives a failed execution; its logs hold no execution input', async () => {
  await env.putPolicy({ stateMachine: '*', intervalSeconds: 0 });
  const sm = await createMachine(env, 'bundled', 'arn:aws:lambda:us-east-1:123456789012:function:b', { kind: 'fail-times', times: 1, error: 'Lambda.ServiceException' });
  const arn = await startExecution(env, sm, 'via-bundle');
  await env.standIn.idle();
  const failed = env.standIn.events.find((e) => e.detail.executionArn === arn && e.detail.status === 'FAILED');

  const controller = bundledFunction('AutoRedriveController');
  const { result, stdout } = await invoke(controller, env, failed);
  expect(result).toEqual({ decision: 'redrive', reason: 'no-delay', action: 'redriven' });
  await env.standIn.idle();
  expect(env.standIn.getExecution(arn)?.status).toBe('SUCCEEDED');
  expect(env.standIn.redrives.map((r) => r.executionArn)).toEqual([arn]);
  // One structured decision line (Powertools) and EMF metrics on stdout; never the input.
  const decision = stdout.split('\n').map((l) => (l.startsWith('{') ? JSON.parse(l) : undefined)).find((l) => l?.message === 'decision');
  expect(decision).toMatchObject({ level: 'INFO', service: 'auto-redrive', executionArn: arn, decision: 'redrive', action: 'redriven' });
  expect(stdout).toContain('"Namespace":"AutoRedrive"');
  expect(stdout).not.toContain('hunter2');
}, 60_000);

test('the bundled drain carries out a pending redrive', async () => {
  // A backoff far longer than a slow child process takes to start, so the controller
  // always schedules; the test then moves the pending record's due time into the past
  // (what the passage of 5 minutes would do) instead of sleeping on the real clock.
  await env.putPolicy({ stateMachine: '*', intervalSeconds: 300, jitter: 'NONE' });
  const sm = await createMachine(env, 'bundled-later', 'arn:aws:lambda:us-east-1:123456789012:function:c', { kind: 'fail-times', times: 1, error: 'Lambda.ServiceException' });
  const arn = await startExecution(env, sm, 'via-drain');
  await env.standIn.idle();
  const failed = env.standIn.events.find((e) => e.detail.executionArn === arn && e.detail.status === 'FAILED');
  const { result } = await invoke(bundledFunction('AutoRedriveController'), env, failed);
  expect(result).toEqual({ decision: 'redrive-later', reason: 'backoff', action: 'scheduled' });
  await makeDue(arn);
  const drained = await invoke(bundledFunction('AutoRedriveDrain'), env, { source: 'aws.events', 'detail-type': 'Scheduled Event' });
  expect(drained.result).toMatchObject({ drained: 1, backlog: 0 });
  await env.standIn.idle();
  expect(env.standIn.getExecution(arn)?.status).toBe('SUCCEEDED');
}, 60_000);
