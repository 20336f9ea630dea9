/**
 * What every doctor check runs with: the SDK clients (built the standard way, or mocked
 * in tests), where the deployment is (a stack, or the local stand-ins), the options, a
 * clock, a sleep and a shared pace for Step Functions calls, and the facts several checks
 * share, each read once.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { IAMClient } from '@aws-sdk/client-iam';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CANARY_DEFAULT_INTERVAL_MINUTES } from '../../contract/canary';
import { realSleep } from '../../lambda/wiring';
import type { LocalState } from '../local-state';
import { PolicyStore, type StoredPolicy } from '../policy-store';
import { nestedOutputKeys, STACK_OUTPUTS } from '../stack-outputs';
import { describeStack, listStateMachines, type MachineSummary, stackResources } from './aws';
import { errorLine, errorName, NotChecked } from './check';
import { doctorCallsPerSecond } from './quotas';

export class DoctorClients {
  private made: Record<string, { destroy(): void }> = {};

  private get<T extends { destroy(): void }>(name: string, make: () => T): T {
    return (this.made[name] ??= make()) as T;
  }

  cloudformation = () => this.get('cfn', () => new CloudFormationClient({}));
  cloudwatch = () => this.get('cw', () => new CloudWatchClient({}));
  eventbridge = () => this.get('events', () => new EventBridgeClient({}));
  iam = () => this.get('iam', () => new IAMClient({}));
  lambda = () => this.get('lambda', () => new LambdaClient({}));
  quotas = () => this.get('quotas', () => new ServiceQuotasClient({}));
  sfn = () => this.get('sfn', () => new SFNClient({}));
  sqs = () => this.get('sqs', () => new SQSClient({}));
  dynamodb = () => this.get('dynamodb', () => new DynamoDBClient({}));
  doc = () => this.get('doc', () => DynamoDBDocumentClient.from(this.dynamodb()));

  destroy(): void {
    for (const client of Object.values(this.made)) client.destroy();
    this.made = {};
  }
}

/** Where the deployment is: a stack's name, or the local stand-ins; flags that override its outputs. */
export interface DoctorTarget {
  readonly stackName?: string;
  readonly local?: LocalState;
  readonly tables: { readonly policy?: string; readonly ledger?: string };
  readonly dlqUrl?: string;
}

export interface DoctorOptions {
  readonly canaryIntervalMinutes: number;
  /** State machines with failures this recent and no policy are reported. */
  readonly failureWindowDays: number;
  /** Uncovered state machines whose executions are listed, at most. */
  readonly maxMachines: number;
}

export const DOCTOR_DEFAULTS: DoctorOptions = { canaryIntervalMinutes: CANARY_DEFAULT_INTERVAL_MINUTES, failureWindowDays: 14, maxMachines: 50 };

/** The outputs doctor reads from an AutoRedrive stack (AutoRedriveStack names; nested ids found too). */
export const DOCTOR_OUTPUTS = { ...STACK_OUTPUTS, controllerFunction: 'ControllerFunctionName', drainFunction: 'DrainFunctionName' } as const;

/** The deployment as the checks need it, from the stack's outputs and resources or the local state file. */
export interface Deployment {
  readonly mode: 'stack' | 'local';
  /** For people: `stack AutoRedrive (us-east-1)` or `local stand-ins`. */
  readonly label: string;
  readonly status?: string;
  readonly partition: string;
  readonly account?: string;
  readonly region?: string;
  readonly createdAt?: number;
  readonly policyTable?: string;
  readonly ledgerTable?: string;
  readonly dlqUrl?: string;
  readonly controllerFunction?: string;
  readonly drainFunction?: string;
  /** Organization mode: the ControllerRoleArn output. */
  readonly controllerRoleArn?: string;
  /** The controller's ARN when known without asking Lambda (the local stand-in). */
  readonly controllerArn?: string;
  /** The rules that send status changes to the controller (name, bus). */
  readonly rules: ReadonlyArray<{ readonly name: string; readonly bus: string }>;
  /** Why the rules are unknown (cloudformation:ListStackResources denied, ...). */
  readonly rulesUnknown?: string;
  readonly missingOutputs: readonly string[];
}

export type DeploymentResult = { readonly ok: true; readonly deployment: Deployment } | { readonly ok: false; readonly problem: string; readonly fix: string };

/** Rules of the construct (resources.ts): StatusChangeRule on the default bus, CentralStatusChangeRule in organization mode. */
const STATUS_CHANGE_RULE = /StatusChangeRule/;

function output(outputs: Record<string, string>, key: string): string | undefined {
  if (outputs[key]) return outputs[key];
  const nested = nestedOutputKeys(outputs, key);
  return nested.length === 1 ? outputs[nested[0]] : undefined;
}

async function stackDeployment(clients: DoctorClients, stackName: string): Promise<DeploymentResult> {
  let stack;
  try {
    stack = await describeStack(clients.cloudformation(), stackName);
  } catch (e) {
    if (errorName(e) === 'ValidationError' && /does not exist/.test(String((e as Error).message))) {
      return { ok: false, problem: `stack ${stackName} does not exist in this account and Region`, fix: 'check --stack, --region and --profile (or deploy: cdk deploy)' };
    }
    return { ok: false, problem: `stack ${stackName} cannot be read: ${errorLine(e)}`, fix: 'check the credentials (--profile) and cloudformation:DescribeStacks' };
  }
  const [, partition = 'aws', , region, account] = stack.stackId.split(':');
  const outputs = stack.outputs;
  const values = Object.fromEntries(Object.entries(DOCTOR_OUTPUTS).map(([k, key]) => [k, output(outputs, key)])) as Record<keyof typeof DOCTOR_OUTPUTS, string | undefined>;
  let rules: Array<{ name: string; bus: string }> = [];
  let rulesUnknown: string | undefined;
  try {
    rules = (await stackResources(clients.cloudformation(), stackName, 'AWS::Events::Rule'))
      .filter((r) => STATUS_CHANGE_RULE.test(r.LogicalResourceId ?? '') && r.PhysicalResourceId)
      .map((r) => {
        // A rule on a custom bus has the physical id `bus|name`.
        const [bus, name] = r.PhysicalResourceId!.includes('|') ? r.PhysicalResourceId!.split('|') : ['default', r.PhysicalResourceId!];
        return { name, bus };
      });
  } catch (e) {
    rulesUnknown = `the stack's resources cannot be listed: ${errorLine(e)}`;
  }
  return {
    ok: true,
    deployment: {
      mode: 'stack',
      label: `stack ${stackName} (${region ?? '?'})`,
      status: stack.status,
      partition,
      account,
      region,
      createdAt: stack.createdAt,
      ...values,
      controllerRoleArn: output(outputs, 'ControllerRoleArn'),
      rules,
      rulesUnknown,
      missingOutputs: Object.entries(DOCTOR_OUTPUTS)
        .filter(([k]) => !values[k as keyof typeof DOCTOR_OUTPUTS])
        .map(([, key]) => key),
    },
  };
}

function localDeployment(local: LocalState): DeploymentResult {
  const bridge = local.eventBridge;
  return {
    ok: true,
    deployment: {
      mode: 'local',
      label: 'local stand-ins (npm run local)',
      partition: 'aws',
      account: local.account,
      region: local.region,
      createdAt: local.startedAt ? Date.parse(local.startedAt) : undefined,
      policyTable: local.tables.policy,
      ledgerTable: local.tables.ledger,
      dlqUrl: local.dlqUrl,
      controllerArn: bridge?.controllerArn,
      rules: bridge ? [{ name: bridge.ruleName, bus: 'default' }] : [],
      missingOutputs: [],
    },
  };
}

/** Facts several checks need, each read once per run (concurrent checks share the promise). */
export class DoctorFacts {
  private readonly memo = new Map<string, Promise<unknown>>();

  constructor(
    private readonly clients: DoctorClients,
    private readonly target: DoctorTarget,
  ) {}

  private once<T>(key: string, read: () => Promise<T>): Promise<T> {
    if (!this.memo.has(key)) this.memo.set(key, read());
    return this.memo.get(key) as Promise<T>;
  }

  deployment(): Promise<DeploymentResult> {
    return this.once('deployment', async () => {
      if (this.target.local) return localDeployment(this.target.local);
      if (!this.target.stackName) {
        return { ok: false, problem: 'no stack named', fix: 'pass --stack <name> (the deployed AutoRedriveStack) or set AUTO_REDRIVE_STACK; or use --local' };
      }
      return stackDeployment(this.clients, this.target.stackName);
    });
  }

  /** The deployment, or not-checked when it cannot be read (the stack check says why). */
  async usableDeployment(): Promise<Deployment> {
    const d = await this.deployment();
    if (!d.ok) throw new NotChecked(`needs the stack: ${d.problem}`);
    return d.deployment;
  }

  /** The tables: the flags and variables first, then the stack's outputs. */
  async tables(): Promise<{ policy: string; ledger: string }> {
    let { policy, ledger } = this.target.tables;
    if (!policy || !ledger) {
      const d = await this.deployment();
      if (d.ok) [policy, ledger] = [policy ?? d.deployment.policyTable, ledger ?? d.deployment.ledgerTable];
    }
    if (!policy || !ledger) throw new NotChecked('the policy and ledger tables are unknown: pass --stack (or --policy-table and --ledger-table)');
    return { policy, ledger };
  }

  async dlqUrl(): Promise<string | undefined> {
    if (this.target.dlqUrl) return this.target.dlqUrl;
    const d = await this.deployment();
    return d.ok ? d.deployment.dlqUrl : undefined;
  }

  policies(): Promise<StoredPolicy[]> {
    return this.once('policies', async () => new PolicyStore(this.clients.dynamodb(), (await this.tables()).policy).list());
  }

  /** The account's state machines in this Region (bounded: 20,000). */
  stateMachines(): Promise<{ machines: MachineSummary[]; complete: boolean }> {
    return this.once('machines', () => listStateMachines(this.clients.sfn()));
  }

  /** The account and Region checked: the deployment's, else the Region of the clients. */
  async where(): Promise<{ partition: string; account: string | undefined; region: string }> {
    const d = await this.deployment();
    const region = (d.ok && d.deployment.region) || (await this.clients.sfn().config.region());
    return { partition: d.ok ? d.deployment.partition : 'aws', account: d.ok ? d.deployment.account : undefined, region };
  }
}

export interface DoctorEnv {
  readonly clients: DoctorClients;
  readonly target: DoctorTarget;
  readonly options: DoctorOptions;
  readonly facts: DoctorFacts;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /**
   * Resolves when this run may make its next per-machine Step Functions call: one shared
   * turn for every check, so checks running side by side stay under the quota together.
   */
  stepFunctionsTurn(): Promise<void>;
}

/** Turns spaced `1000 / perSecond(region)` ms apart, in the order asked, the first at once. */
function pacer(facts: DoctorFacts, sleep: (ms: number) => Promise<void>): () => Promise<void> {
  let chain: Promise<void> | undefined;
  return () => {
    const previous = chain;
    chain = (async () => {
      if (!previous) return;
      await previous;
      await sleep(1000 / doctorCallsPerSecond((await facts.where()).region));
    })();
    return chain;
  };
}

export function doctorEnv(parts: {
  clients?: DoctorClients;
  target: DoctorTarget;
  options?: Partial<DoctorOptions>;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}): DoctorEnv {
  const clients = parts.clients ?? new DoctorClients();
  const facts = new DoctorFacts(clients, parts.target);
  const sleep = parts.sleep ?? realSleep;
  return {
    clients,
    target: parts.target,
    options: { ...DOCTOR_DEFAULTS, ...parts.options },
    facts,
    now: parts.now ?? Date.now,
    sleep,
    stepFunctionsTurn: pacer(facts, sleep),
  };
}
