/**
 * The local rule as EventBridge shows it: a tiny stand-in speaking the AWS JSON 1.1
 * protocol of @aws-sdk/client-eventbridge (POST, `X-Amz-Target: AWSEvents.<Operation>`),
 * so `redrivectl --local doctor` reads the rule with the same adapter code as in AWS, and
 * a person can break it on purpose (`aws events remove-targets`, `disable-rule` with
 * --endpoint-url). The in-process bus delivers only while the rule is enabled and targets
 * the controller (`LocalRule.deliversToController`), as EventBridge would.
 *
 * Operations: DescribeRule, ListRules, ListTargetsByRule, PutTargets, RemoveTargets,
 * EnableRule, DisableRule. Signatures are not checked.
 */
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import { closeServer, listenOn, parseJsonObject, readBody } from './aws-json';

const TARGET_PREFIX = 'AWSEvents.';
const CONTENT_TYPE = 'application/x-amz-json-1.1';

export const LOCAL_RULE_NAME = 'auto-redrive-status-change';
export const LOCAL_CONTROLLER_NAME = 'auto-redrive-controller';

export interface LocalRuleTarget {
  readonly Id: string;
  readonly Arn: string;
}

/** The one rule of the local stack: enabled, targeting the controller, until someone changes it. */
export class LocalRule {
  state: 'ENABLED' | 'DISABLED' = 'ENABLED';
  targets: LocalRuleTarget[];

  constructor(
    readonly name: string,
    readonly arn: string,
    readonly controllerArn: string,
    readonly eventPattern: object,
  ) {
    this.targets = [{ Id: 'Controller', Arn: controllerArn }];
  }

  /** Whether EventBridge would deliver a matching event to the controller now. */
  get deliversToController(): boolean {
    return this.state === 'ENABLED' && this.targets.some((t) => t.Arn === this.controllerArn);
  }
}

class EventsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Params = Record<string, any>;

export class EventBridgeStandIn {
  private server?: http.Server;

  constructor(readonly rule: LocalRule) {}

  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    if (this.server) throw new Error('EventBridgeStandIn is already listening');
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => this.send(res, 500, { __type: 'InternalException', message: String(err) }));
    });
    this.server = server;
    return listenOn(server, port, host);
  }

  close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    return server ? closeServer(server) : Promise.resolve();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    const target = req.headers['x-amz-target'];
    const op = typeof target === 'string' && target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
    try {
      if (req.method !== 'POST' || !Object.hasOwn(this.operations, op)) throw new EventsError('UnknownOperationException', `The local EventBridge stand-in does not support ${String(target ?? '(no X-Amz-Target)')}`);
      const parsed = parseJsonObject(body);
      if (!parsed.ok) throw new EventsError('ValidationException', parsed.problem);
      this.send(res, 200, this.operations[op](parsed.value as Params));
    } catch (e) {
      const err = e instanceof EventsError ? e : new EventsError('InternalException', String(e), 500);
      this.send(res, err.status, { __type: err.code, message: err.message });
    }
  }

  /** The rule named in the request (on the default bus). */
  private ruleOf(name: unknown, bus: unknown): LocalRule {
    if (name !== this.rule.name || (bus !== undefined && bus !== 'default' && bus !== null)) {
      throw new EventsError('ResourceNotFoundException', `Rule ${String(name)} does not exist on EventBus ${String(bus ?? 'default')}.`);
    }
    return this.rule;
  }

  private readonly operations: Record<string, (p: Params) => object> = {
    DescribeRule: (p) => {
      const r = this.ruleOf(p.Name, p.EventBusName);
      return { Name: r.name, Arn: r.arn, EventPattern: JSON.stringify(r.eventPattern), State: r.state, EventBusName: 'default', Description: 'auto-redrive (local)' };
    },
    ListRules: (p) => {
      const prefix = typeof p.NamePrefix === 'string' ? p.NamePrefix : '';
      const r = this.rule;
      return { Rules: r.name.startsWith(prefix) ? [{ Name: r.name, Arn: r.arn, State: r.state, EventBusName: 'default', EventPattern: JSON.stringify(r.eventPattern) }] : [] };
    },
    ListTargetsByRule: (p) => ({ Targets: this.ruleOf(p.Rule, p.EventBusName).targets.map((t) => ({ ...t })) }),
    PutTargets: (p) => {
      const r = this.ruleOf(p.Rule, p.EventBusName);
      const added: LocalRuleTarget[] = (Array.isArray(p.Targets) ? p.Targets : []).map((t: Params) => ({ Id: String(t.Id), Arn: String(t.Arn) }));
      r.targets = [...r.targets.filter((t) => !added.some((a) => a.Id === t.Id)), ...added];
      return { FailedEntryCount: 0, FailedEntries: [] };
    },
    RemoveTargets: (p) => {
      const r = this.ruleOf(p.Rule, p.EventBusName);
      const ids: string[] = Array.isArray(p.Ids) ? p.Ids.map(String) : [];
      r.targets = r.targets.filter((t) => !ids.includes(t.Id));
      return { FailedEntryCount: 0, FailedEntries: [] };
    },
    EnableRule: (p) => {
      this.ruleOf(p.Name, p.EventBusName).state = 'ENABLED';
      return {};
    },
    DisableRule: (p) => {
      this.ruleOf(p.Name, p.EventBusName).state = 'DISABLED';
      return {};
    },
  };

  private send(res: http.ServerResponse, status: number, body: object): void {
    const payload = JSON.stringify(body);
    res.writeHead(status, { 'x-amzn-RequestId': randomUUID(), 'Content-Type': CONTENT_TYPE, 'Content-Length': Buffer.byteLength(payload) });
    res.end(payload);
  }
}

/** The local rule (enabled, targeting the local controller) and its stand-in, listening. */
export async function startLocalRule(account: string, region: string, eventPattern: object): Promise<{ rule: LocalRule; standIn: EventBridgeStandIn; endpoint: string }> {
  const rule = new LocalRule(
    LOCAL_RULE_NAME,
    `arn:aws:events:${region}:${account}:rule/${LOCAL_RULE_NAME}`,
    `arn:aws:lambda:${region}:${account}:function:${LOCAL_CONTROLLER_NAME}`,
    eventPattern,
  );
  const standIn = new EventBridgeStandIn(rule);
  const endpoint = await standIn.listen(0, '127.0.0.1');
  return { rule, standIn, endpoint };
}
