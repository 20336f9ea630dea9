/**
 * A minimal SQS stand-in over node:http, speaking the AWS JSON 1.0 protocol that
 * @aws-sdk/client-sqs (3.1175) uses: POST, `X-Amz-Target: AmazonSQS.<Operation>`,
 * `Content-Type: application/x-amz-json-1.0`. Signatures are not checked.
 *
 * Operations: CreateQueue, GetQueueUrl, ListQueues, SendMessage, ReceiveMessage,
 * DeleteMessage, ChangeMessageVisibility, GetQueueAttributes, PurgeQueue.
 * WaitTimeSeconds (long polling) is accepted and answered at once.
 */
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import { closeServer, listenOn, parseJsonObject, readBody } from '../aws-json';
import * as errors from './errors';
import { LocalQueue } from './queue';

const TARGET_PREFIX = 'AmazonSQS.';
const CONTENT_TYPE = 'application/x-amz-json-1.0';
const MAX_BODY_BYTES = 256 * 1024;

export interface SqsStandInOptions {
  /** Epoch ms; drives visibility timeouts and delays. @default Date.now */
  readonly clock?: () => number;
  /** @default '123456789012' */
  readonly accountId?: string;
  /** @default 'us-east-1' */
  readonly region?: string;
}

export interface SqsCall {
  readonly op: string;
  params: Record<string, unknown>;
  outcome: string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Params = Record<string, any>;

export class SqsStandIn {
  private readonly clock: () => number;
  private readonly accountId: string;
  private readonly region: string;
  private readonly queues = new Map<string, LocalQueue>();
  private readonly callLog: SqsCall[] = [];
  private server?: http.Server;
  private endpointUrl?: string;

  constructor(options: SqsStandInOptions = {}) {
    this.clock = options.clock ?? Date.now;
    this.accountId = options.accountId ?? '123456789012';
    this.region = options.region ?? 'us-east-1';
  }

  get endpoint(): string {
    if (!this.endpointUrl) throw new Error('SqsStandIn is not listening');
    return this.endpointUrl;
  }

  /** Every API call received, in order, with 'ok' or the error code. */
  get calls(): ReadonlyArray<SqsCall> {
    return this.callLog;
  }

  /** The queue named `name` (tests: inspect messages). */
  queue(name: string): LocalQueue | undefined {
    return this.queues.get(name);
  }

  /** CreateQueue without HTTP; idempotent. Returns the queue URL. */
  createQueue(name: string, visibilityTimeoutSeconds?: number): string {
    const existing = this.queues.get(name);
    if (existing) return existing.url;
    const url = `${this.endpoint}/${this.accountId}/${name}`;
    const arn = `arn:aws:sqs:${this.region}:${this.accountId}:${name}`;
    const queue = new LocalQueue(name, url, arn, this.clock, visibilityTimeoutSeconds);
    this.queues.set(name, queue);
    return url;
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    if (this.server) throw new Error('SqsStandIn is already listening');
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) this.sendError(res, errors.internalError(String(err)));
      });
    });
    this.server = server;
    this.endpointUrl = await listenOn(server, port, host);
    return this.endpointUrl;
  }

  close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return Promise.resolve();
    return closeServer(server);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    const target = req.headers['x-amz-target'];
    const op = typeof target === 'string' && target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
    const call: SqsCall = { op, params: {}, outcome: 'ok' };
    this.callLog.push(call);
    try {
      if (req.method !== 'POST' || !Object.hasOwn(this.operations, op)) throw errors.unknownOperation(String(target ?? ''));
      call.params = parseParams(body);
      const result = this.operations[op](call.params);
      this.send(res, 200, result);
    } catch (err) {
      const e = err instanceof errors.SqsError ? err : errors.internalError(String(err));
      call.outcome = e.code;
      this.sendError(res, e);
    }
  }

  private queueOf(params: Params): LocalQueue {
    const url = params.QueueUrl;
    if (typeof url !== 'string' || url === '') throw errors.missingParameter('QueueUrl');
    // By name (the last path segment), so any host that reaches us works.
    const name = url.split('/').filter(Boolean).pop() ?? '';
    const queue = this.queues.get(name);
    if (!queue) throw errors.queueDoesNotExist();
    return queue;
  }

  private readonly operations: Record<string, (p: Params) => object> = {
    CreateQueue: (p) => {
      const name = p.QueueName;
      if (typeof name !== 'string' || name === '') throw errors.missingParameter('QueueName');
      if (!/^[A-Za-z0-9_-]{1,80}$/.test(name)) throw errors.invalidParameter('Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length');
      const vt = p.Attributes?.VisibilityTimeout;
      return { QueueUrl: this.createQueue(name, vt === undefined ? undefined : Number(vt)) };
    },
    GetQueueUrl: (p) => {
      const queue = this.queues.get(String(p.QueueName ?? ''));
      if (!queue) throw errors.queueDoesNotExist();
      return { QueueUrl: queue.url };
    },
    ListQueues: (p) => {
      const prefix = typeof p.QueueNamePrefix === 'string' ? p.QueueNamePrefix : '';
      return { QueueUrls: [...this.queues.values()].filter((q) => q.name.startsWith(prefix)).map((q) => q.url) };
    },
    SendMessage: (p) => {
      const queue = this.queueOf(p);
      const body = p.MessageBody;
      if (typeof body !== 'string' || body === '') throw errors.missingParameter('MessageBody');
      if (Buffer.byteLength(body) > MAX_BODY_BYTES) throw errors.invalidParameter('One or more parameters are invalid. Reason: Message must be shorter than 262144 bytes.');
      const delay = integerIn(p.DelaySeconds, 0, 900, 'DelaySeconds', 0);
      const m = queue.send(body, delay);
      return { MessageId: m.messageId, MD5OfMessageBody: m.md5OfBody };
    },
    ReceiveMessage: (p) => {
      const queue = this.queueOf(p);
      const max = integerIn(p.MaxNumberOfMessages, 1, 10, 'MaxNumberOfMessages', 1);
      const vt = p.VisibilityTimeout === undefined ? undefined : integerIn(p.VisibilityTimeout, 0, 43_200, 'VisibilityTimeout', 0);
      integerIn(p.WaitTimeSeconds, 0, 20, 'WaitTimeSeconds', 0);
      const messages = queue.receive(max, vt).map((m) => ({
        MessageId: m.messageId,
        ReceiptHandle: m.receiptHandle,
        MD5OfBody: m.md5OfBody,
        Body: m.body,
        Attributes: {
          ApproximateReceiveCount: String(m.receiveCount),
          SentTimestamp: String(m.sentAt),
          ApproximateFirstReceiveTimestamp: String(m.firstReceivedAt ?? m.sentAt),
        },
      }));
      return messages.length ? { Messages: messages } : {};
    },
    DeleteMessage: (p) => {
      const queue = this.queueOf(p);
      if (typeof p.ReceiptHandle !== 'string') throw errors.missingParameter('ReceiptHandle');
      queue.delete(p.ReceiptHandle);
      return {};
    },
    ChangeMessageVisibility: (p) => {
      const queue = this.queueOf(p);
      if (typeof p.ReceiptHandle !== 'string') throw errors.missingParameter('ReceiptHandle');
      queue.changeVisibility(p.ReceiptHandle, integerIn(p.VisibilityTimeout, 0, 43_200, 'VisibilityTimeout', 0));
      return {};
    },
    GetQueueAttributes: (p) => {
      const queue = this.queueOf(p);
      const counts = queue.counts();
      const all: Record<string, string> = {
        ApproximateNumberOfMessages: String(counts.visible),
        ApproximateNumberOfMessagesNotVisible: String(counts.inFlight),
        ApproximateNumberOfMessagesDelayed: String(counts.delayed),
        QueueArn: queue.arn,
        VisibilityTimeout: String(queue.visibilityTimeoutSeconds),
        CreatedTimestamp: String(Math.floor(queue.createdAt / 1000)),
      };
      const names: string[] = Array.isArray(p.AttributeNames) ? p.AttributeNames : [];
      const wanted = names.includes('All') ? Object.keys(all) : names.filter((n) => n in all);
      return { Attributes: Object.fromEntries(wanted.map((n) => [n, all[n]])) };
    },
    PurgeQueue: (p) => {
      this.queueOf(p).purge();
      return {};
    },
  };

  private send(res: http.ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
    const payload = JSON.stringify(body);
    res.writeHead(status, {
      'x-amzn-RequestId': randomUUID(),
      'Content-Type': CONTENT_TYPE,
      'Content-Length': Buffer.byteLength(payload),
      ...headers,
    });
    res.end(payload);
  }

  private sendError(res: http.ServerResponse, e: errors.SqsError): void {
    this.send(res, e.httpStatus, e.toBody(), e.headers());
  }
}

function integerIn(v: unknown, min: number, max: number, name: string, fallback: number): number {
  if (v === undefined || v === null) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw errors.invalidParameter(`Value ${String(v)} for parameter ${name} is invalid. Reason: must be between ${min} and ${max}.`);
  }
  return n;
}

function parseParams(body: string): Params {
  const parsed = parseJsonObject(body);
  if (!parsed.ok) throw errors.serialization(parsed.problem);
  return parsed.value as Params;
}
