/**
 * redrivectl as its users run it: a child process (`node cli/redrivectl.cjs ...`) against
 * the local stand-ins started in the jest process (dynalite, Step Functions, SQS).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { CreateStateMachineCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { type LocalEnvironment, type LocalOptions, LOCAL_REGION, LOCAL_TABLES, startLocal } from '../../local/environment';
import { SqsStandIn } from '../../local/sqs';
import type { StepBehaviour } from '../../local/sfn';

export const CLI = path.resolve(__dirname, '../../cli/redrivectl.cjs');
export const ROOT = path.resolve(__dirname, '../..');
export const FIXTURES = path.resolve(__dirname, '../fixtures/status-change-events');
export const ACTOR = 'cli-test@jest';

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

export interface CliEnv {
  readonly local: LocalEnvironment;
  readonly sqs: SqsStandIn;
  readonly dlqUrl: string;
  /** Environment for the child: endpoints, tables, DLQ, Region, dummy credentials. */
  readonly env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

export async function startCliEnv(options: LocalOptions = {}): Promise<CliEnv> {
  const local = await startLocal(options);
  // As a deployed controller's drain does every minute: the rate redrivectl release and backfill use.
  await local.deps.redriveRate.publishRate?.(Date.now());
  const sqs = new SqsStandIn({ region: LOCAL_REGION });
  const sqsEndpoint = await sqs.listen(0);
  const dlqUrl = sqs.createQueue('auto-redrive-dlq');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_ENDPOINT_URL_SFN: local.endpoints.sfn,
    AWS_ENDPOINT_URL_DYNAMODB: local.endpoints.dynamodb,
    AWS_ENDPOINT_URL_SQS: sqsEndpoint,
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    // Nothing from the machine's own AWS configuration.
    AWS_CONFIG_FILE: path.join(ROOT, 'nonexistent-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(ROOT, 'nonexistent-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AUTO_REDRIVE_POLICY_TABLE: LOCAL_TABLES.policy,
    AUTO_REDRIVE_LEDGER_TABLE: LOCAL_TABLES.ledger,
    AUTO_REDRIVE_DLQ_URL: dlqUrl,
    AUTO_REDRIVE_ACTOR: ACTOR,
  };
  return {
    local,
    sqs,
    dlqUrl,
    env,
    async stop() {
      await local.settle();
      await local.stop();
      await sqs.close();
    },
  };
}

export interface RunningCli {
  readonly child: ChildProcess;
  readonly done: Promise<CliResult>;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves once stderr matches `re`. */
  waitForStderr(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

export function startCli(args: readonly string[], env: NodeJS.ProcessEnv, input?: string): RunningCli {
  const started = Date.now();
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: Array<() => void> = [];
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    for (const w of [...waiters]) w();
  });
  child.stdin!.end(input ?? '');
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, ms: Date.now() - started }));
  });
  return {
    child,
    done,
    stderr: () => stderr,
    waitForStderr(re, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re} in stderr:\n${stderr}`)), timeoutMs);
        const check = () => {
          const m = stderr.match(re);
          if (!m) return;
          clearTimeout(timer);
          waiters.splice(waiters.indexOf(check), 1);
          resolve(m);
        };
        waiters.push(check);
        void done.then(() => {
          if (!stderr.match(re)) {
            clearTimeout(timer);
            reject(new Error(`exited before ${re} appeared in stderr:\n${stderr}`));
          }
        });
        check();
      });
    },
  };
}

export function runCli(args: readonly string[], env: NodeJS.ProcessEnv, input?: string): Promise<CliResult> {
  return startCli(args, env, input).done;
}

/** The documented error form: exactly one line `redrivectl: ...` on stderr. */
export function expectOneErrorLine(r: CliResult, ...fragments: string[]): void {
  const lines = r.stderr.trimEnd().split('\n');
  if (lines.length !== 1 || !lines[0].startsWith('redrivectl: ')) {
    throw new Error(`expected one 'redrivectl: ...' line on stderr (exit ${r.code}), got:\n${r.stderr}`);
  }
  expect(r.code).not.toBe(0);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  for (const f of fragments) expect(lines[0]).toContain(f);
}

export function parseJson(r: CliResult): Record<string, unknown> {
  try {
    return JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    throw new Error(`stdout is not one JSON document (exit ${r.code}):\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
}

/** Every item of a table, sorted, for "nothing was written" checks; rate-limiter state is left out. */
export async function tableItems(local: LocalEnvironment, table: string): Promise<string> {
  const out = await local.dynamodb.send(new ScanCommand({ TableName: table, ConsistentRead: true }));
  return JSON.stringify((out.Items ?? []).filter((i) => i.pk?.S !== 'RATE').map((i) => JSON.stringify(i)).sort());
}

const ROLE_ARN = 'arn:aws:iam::123456789012:role/StandInRole';

/** A one-Task state machine whose Task follows `resource`'s scripted behaviour. */
export async function createMachine(local: LocalEnvironment, name: string, resource: string): Promise<string> {
  const definition = JSON.stringify({ StartAt: 'Work', States: { Work: { Type: 'Task', Resource: resource, End: true } } });
  const out = await local.sfn.send(new CreateStateMachineCommand({ name, definition, roleArn: ROLE_ARN, type: 'STANDARD' }));
  return out.stateMachineArn!;
}

export async function startExecution(local: LocalEnvironment, stateMachineArn: string, name: string): Promise<string> {
  const out = await local.sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: '{}' }));
  return out.executionArn!;
}

/**
 * A state machine `name` whose task `resource` behaves as `behaviour`, and `n` executions
 * of it (`<name>-<i>`), each settled before the next starts.
 */
export async function machineWithExecutions(local: LocalEnvironment, name: string, resource: string, behaviour: StepBehaviour, n: number): Promise<{ sm: string; arns: string[] }> {
  const sm = await createMachine(local, name, resource);
  local.standIn.setBehaviour(resource, behaviour);
  const arns: string[] = [];
  for (let i = 0; i < n; i++) {
    arns.push(await startExecution(local, sm, `${name}-${i}`));
    await local.settle();
  }
  return { sm, arns };
}

