/**
 * `npm run local`: the whole controller on this machine for `redrivectl --local` (and the
 * AWS CLI with --endpoint-url): dynalite, the Step Functions stand-in, the in-process
 * event bus feeding the controller, a drain every few seconds, and an SQS stand-in whose
 * queue `auto-redrive-dlq` receives the events the controller could not handle (the
 * bus's dead-letter hook, sent with the real SQS SDK). Runs until Ctrl-C / SIGTERM.
 *
 * Writes .local-state/local.json (endpoints, tables, DLQ URL, Region) while it runs and
 * removes it on exit; `redrivectl --local` reads it.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { scheduledRun } from '../lambda/scheduled-drain';
import { type LogLine, MemoryLog } from '../lambda/observability/telemetry';
import { type LocalState, localStatePath } from '../cli/local-state';
import { type LocalEnvironment, LOCAL_ACCOUNT, LOCAL_REGION, LOCAL_TABLES, startLocal } from './environment';
import { CreateStateMachineCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { seedHistory, ShiftableClock } from './seed-history';
import { SqsStandIn } from './sqs';
import { statusChangePattern } from '../contract/event-pattern';
import { startLocalRule } from './eventbridge';

export const DLQ_NAME = 'auto-redrive-dlq';
/** --seed-history: the stand-in's clock, moved back to date the seeded failures. */
const historyClock = process.argv.includes('--seed-history') ? new ShiftableClock() : undefined;
const DRAIN_EVERY_MS = Number(process.env.AUTO_REDRIVE_LOCAL_DRAIN_MS ?? 10_000);
/** The state file, once this process wrote it (so only its writer removes it). */
let written: string | undefined;

function printLine(line: LogLine): void {
  const a = line.attributes;
  if (line.message === 'decision') {
    const due = a.dueAt ? ` due ${String(a.dueAt)}` : '';
    console.log(`[${new Date().toISOString()}] ${a.source} ${a.executionArn}: ${a.decision} (${a.reason}) -> ${a.action}${due}`);
  } else if (line.level === 'warn' || line.level === 'error') {
    console.log(`[${new Date().toISOString()}] ${line.level}: ${line.message} ${JSON.stringify(a)}`);
  }
}

/**
 * Something to look at: an `orders-pipeline` machine whose payment step is down for the
 * first two minutes, and five executions that failed in it before any policy existed
 * (recorded as no-policy skips). Add a policy, then `redrivectl --local backfill` them.
 */
async function seed(env: LocalEnvironment): Promise<void> {
  const resource = `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:orders-charge`;
  env.standIn.setBehaviour(resource, { kind: 'fail-until', untilMs: Date.now() + 120_000, error: 'Lambda.ServiceException', cause: 'payment API returned 503' });
  const sm = await env.sfn.send(
    new CreateStateMachineCommand({
      name: 'orders-pipeline',
      roleArn: `arn:aws:iam::${LOCAL_ACCOUNT}:role/orders-pipeline`,
      definition: JSON.stringify({ StartAt: 'Charge', States: { Charge: { Type: 'Task', Resource: resource, End: true } } }),
    }),
  );
  for (let i = 1; i <= 5; i++) {
    await env.sfn.send(new StartExecutionCommand({ stateMachineArn: sm.stateMachineArn!, name: `order-${1000 + i}`, input: JSON.stringify({ orderId: 1000 + i }) }));
  }
  await env.settle();
  console.log(`seeded: 5 failed executions of ${sm.stateMachineArn} (no policy yet; the payment step recovers 2 minutes after start)\n`);
}

async function main(): Promise<void> {
  // The SDK warns that its 2027 releases need Node 22; this local tool runs on Node 20 too.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const sqs = new SqsStandIn({ accountId: LOCAL_ACCOUNT, region: LOCAL_REGION });
  const sqsEndpoint = await sqs.listen(0, '127.0.0.1');
  const dlqUrl = sqs.createQueue(DLQ_NAME);
  const sqsClient = new SQSClient({
    endpoint: sqsEndpoint,
    region: LOCAL_REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });

  // The rule, as redrivectl --local doctor reads it (and a person can disable it or remove its target).
  const events = await startLocalRule(LOCAL_ACCOUNT, LOCAL_REGION, statusChangePattern({}));
  const env = await startLocal({
    log: new MemoryLog(printLine),
    delivery: {
      ruleDelivers: () => events.rule.deliversToController,
      onDeadLetter: async (event, error) => {
        await sqsClient.send(new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: JSON.stringify(event) }));
        console.log(`[${new Date().toISOString()}] dead letter -> ${DLQ_NAME}: ${error}`);
      },
    },
    standIn: historyClock && { clock: historyClock.now },
  });
  process.env.AWS_ENDPOINT_URL_SQS = sqsEndpoint;
  if (!process.argv.includes('--no-seed')) await seed(env);
  if (historyClock) {
    const history = await seedHistory({ sfn: env.sfn, standIn: env.standIn, clock: historyClock });
    await env.settle();
    console.log(`seeded history: ${history.inWindow} failures in the last 14 days (and ${history.executions.length - history.inWindow} older) over ${history.stateMachineArns.length} state machines; try: npx redrivectl --local what-if\n`);
  }

  const state: LocalState = {
    endpoints: { sfn: env.endpoints.sfn, dynamodb: env.endpoints.dynamodb, sqs: sqsEndpoint },
    tables: { policy: LOCAL_TABLES.policy, ledger: LOCAL_TABLES.ledger },
    dlqUrl,
    region: LOCAL_REGION,
    redriveRatePerSecond: env.config.redriveRatePerSecond,
    eventBridge: { endpoint: events.endpoint, ruleName: events.rule.name, controllerArn: events.rule.controllerArn },
    account: LOCAL_ACCOUNT,
    startedAt: new Date().toISOString(),
  };
  const file = localStatePath();
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(state, null, 2)}\n`);
  written = file;

  // The drain carries out scheduled (backoff) and deferred redrives, as the scheduled
  // Lambda does in AWS.
  let draining = false;
  const timer = setInterval(() => {
    if (draining) return;
    draining = true;
    scheduledRun(env.deps)
      .catch((e: unknown) => console.log(`[${new Date().toISOString()}] drain failed: ${(e as Error).message}`))
      .finally(() => (draining = false));
  }, DRAIN_EVERY_MS);

  console.log(`auto-redrive local stand-ins are running (state in ${path.relative(process.cwd(), file) || file}):
  Step Functions  ${state.endpoints.sfn}
  DynamoDB        ${state.endpoints.dynamodb}   tables ${state.tables.policy}, ${state.tables.ledger}
  SQS             ${state.endpoints.sqs}   DLQ ${dlqUrl}
  EventBridge     ${events.endpoint}   rule ${events.rule.name} -> the controller
  Region          ${state.region} (account ${LOCAL_ACCOUNT}, any credentials)

Use them with:
  npx redrivectl --local policy put '*' --max-redrives 2 --yes
  npx redrivectl --local status
  npx redrivectl --local doctor
  npx redrivectl --local explain <executionArn>
  npx redrivectl --local dlq replay --dry-run
  npx redrivectl --local what-if --since 14d   (with npm run local -- --seed-history: 1,000 failures)
or with the AWS CLI:
  aws --endpoint-url ${state.endpoints.sfn} --region ${state.region} stepfunctions list-state-machines

Ctrl-C stops them.`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    clearInterval(timer);
    rmSync(file, { force: true });
    console.log(`\n${signal}: stopping`);
    try {
      await env.settle();
      await env.stop();
      await sqs.close();
      await events.standIn.close();
      sqsClient.destroy();
    } finally {
      process.exit(0);
    }
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((e: unknown) => {
  console.error(`local: ${(e as Error).stack ?? e}`);
  if (written) rmSync(written, { force: true });
  process.exit(1);
});
