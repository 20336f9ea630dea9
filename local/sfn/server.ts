/**
 * The HTTP face of the stand-in: AWS JSON 1.0 over plain node:http, so the real
 * @aws-sdk/client-sfn (endpoint option or AWS_ENDPOINT_URL_SFN) talks to it unchanged.
 * Signatures are not checked: any dummy credentials work.
 */
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import { Engine } from './engine';
import { closeServer, listenOn, parseJsonObject, readBody } from '../aws-json';
import * as errors from './errors';
import { createHandlers, type Handler } from './operations';
import { TokenBucket } from './token-bucket';
import {
  SFN_OPERATIONS,
  type CallParams,
  type CallRecord,
  type Clock,
  type ExecutionSnapshot,
  type FaultKind,
  type RedriveRecord,
  type SfnOperation,
  type StatusChangeEvent,
  type ThrottleConfig,
} from './types';
import type { StepBehaviour } from './workflow';

const TARGET_PREFIX = 'AWSStepFunctions.';
const CONTENT_TYPE = 'application/x-amz-json-1.0';

export interface StandInOptions {
  /** Epoch ms; default Date.now. Drives dates, redrive windows, token TTLs and throttling. */
  clock?: Clock;
  /** default '123456789012' */
  accountId?: string;
  /** default 'us-east-1' */
  region?: string;
  /** Token bucket per operation; operations without one are never throttled. */
  throttle?: Partial<Record<SfnOperation, ThrottleConfig>>;
  /** Called synchronously with every status-change event (Standard executions only). */
  onEvent?: (event: StatusChangeEvent) => void;
  /** Fault injection, asked before each call (before throttling). */
  fault?: (op: SfnOperation, params: unknown) => FaultKind | undefined;
  /**
   * Who may call: gets the SigV4 access key id of each request; false answers
   * AccessDeniedException. Lets a multi-account test prove which credentials reached
   * which account. @default everyone
   */
  authorize?: (accessKeyId: string) => boolean;
}

export class StepFunctionsStandIn {
  private readonly clock: Clock;
  private readonly engine: Engine;
  private readonly handlers: Record<SfnOperation, Handler>;
  private readonly buckets = new Map<SfnOperation, TokenBucket>();
  private readonly callLog: CallRecord[] = [];
  private readonly eventLog: StatusChangeEvent[] = [];
  /** Requests deliberately left unanswered ('timeout' fault); their sockets die on close(). */
  private readonly held = new Set<http.IncomingMessage>();
  private server?: http.Server;

  constructor(private readonly options: StandInOptions = {}) {
    this.clock = options.clock ?? Date.now;
    this.engine = new Engine({
      clock: this.clock,
      accountId: options.accountId ?? '123456789012',
      region: options.region ?? 'us-east-1',
      emit: (event) => this.publish(event),
    });
    this.handlers = createHandlers(this.engine);
    for (const [op, config] of Object.entries(options.throttle ?? {})) {
      if (config) this.buckets.set(op as SfnOperation, new TokenBucket(config, this.clock));
    }
  }

  /** Every API call received, in order, with its outcome ('ok' or the error code). */
  get calls(): ReadonlyArray<CallRecord> {
    return this.callLog;
  }

  /** Redrives actually performed (idempotent clientToken replays are not listed). */
  get redrives(): ReadonlyArray<RedriveRecord> {
    return this.engine.redrives;
  }

  /** Every status-change event emitted, in order. */
  get events(): ReadonlyArray<StatusChangeEvent> {
    return this.eventLog;
  }

  /** Scripted behaviour of Task states whose `Resource` is `resource` (default: succeed). */
  setBehaviour(resource: string, behaviour: StepBehaviour): void {
    this.engine.setBehaviour(resource, behaviour);
  }

  /** Resolves once no execution has a state running (a never-settling behaviour promise keeps it pending). */
  idle(): Promise<void> {
    return this.engine.idle();
  }

  getExecution(arn: string): ExecutionSnapshot | undefined {
    return this.engine.getExecution(arn);
  }

  /** Ends a RUNNING execution TIMED_OUT (States.Timeout), as its state machine's TimeoutSeconds would. */
  timeOutExecution(executionArn: string): void {
    this.engine.timeOutExecution(executionArn);
  }

  /** Test hook for the "Execution history event limit exceeded" rule. */
  setHistoryEventCount(executionArn: string, count: number): void {
    this.engine.setHistoryEventCount(executionArn, count);
  }

  /** Resolves the endpoint URL, e.g. http://127.0.0.1:34567. Port 0 picks a free port. */
  listen(port = 0, host = '127.0.0.1'): Promise<string> {
    if (this.server) return Promise.reject(new Error('StepFunctionsStandIn is already listening'));
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        const failure = errors.internalFailure(String(err));
        if (!res.headersSent) this.send(res, failure.httpStatus, failure.toBody());
      });
    });
    this.server = server;
    return listenOn(server, port, host);
  }

  close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return Promise.resolve();
    for (const req of this.held) req.socket.destroy();
    this.held.clear();
    return closeServer(server);
  }

  private publish(event: StatusChangeEvent): void {
    this.eventLog.push(event);
    try {
      this.options.onEvent?.(event);
    } catch (err) {
      // A listener's bug must not fail the API call or wedge the execution; rethrow it where it is visible.
      setImmediate(() => {
        throw err;
      });
    }
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    const at = this.clock();
    const target = req.headers['x-amz-target'];
    const op = typeof target === 'string' && target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
    if (req.method !== 'POST' || !(SFN_OPERATIONS as readonly string[]).includes(op)) {
      const err = errors.unknownOperation(String(target ?? ''));
      return this.send(res, err.httpStatus, err.toBody());
    }
    const accessKeyId = /Credential=([^/,\s]+)\//.exec(String(req.headers.authorization ?? ''))?.[1] ?? '';
    const call: CallRecord = { op: op as SfnOperation, at, params: undefined, outcome: 'ok', accessKeyId };
    this.callLog.push(call);
    try {
      call.params = parseParams(body);
      if (this.options.authorize && !this.options.authorize(accessKeyId)) {
        throw errors.accessDenied(`${accessKeyId} is not authorized to perform: states:${op} in this account`);
      }
      const fault = this.options.fault?.(call.op, call.params);
      if (fault === 'timeout') {
        call.outcome = 'timeout';
        this.held.add(req);
        req.socket.once('close', () => this.held.delete(req));
        return;
      }
      if (fault === 'server-error') throw errors.serviceUnavailable();
      if (fault === 'throttle' || this.buckets.get(call.op)?.tryTake() === false) throw errors.throttling();
      this.send(res, 200, this.handlers[call.op](call.params));
    } catch (err) {
      const e = err instanceof errors.SfnError ? err : errors.internalFailure(String(err));
      call.outcome = e.code;
      this.send(res, e.httpStatus, e.toBody());
    }
  }

  private send(res: http.ServerResponse, status: number, body: object): void {
    const payload = JSON.stringify(body);
    res.writeHead(status, {
      'x-amzn-RequestId': randomUUID(),
      'Content-Type': CONTENT_TYPE,
      'Content-Length': Buffer.byteLength(payload),
    });
    res.end(payload);
  }
}

function parseParams(body: string): CallParams {
  const parsed = parseJsonObject(body);
  if (!parsed.ok) throw errors.serialization(parsed.problem);
  return parsed.value as CallParams;
}
