/**
 * A tiny fault-injecting HTTP proxy for the local AWS endpoints (dynalite, the Step
 * Functions stand-in). Point an SDK client's `endpoint` at it and decide, per request and
 * by operation (the X-Amz-Target header: `DynamoDB_20120810.UpdateItem`,
 * `AWSStepFunctions.RedriveExecution`), whether to pass it through or to:
 *
 *   error          answer with an AWS JSON error (500 InternalServerError, 400
 *                  ProvisionedThroughputExceededException, ...) without forwarding
 *   delay          wait N ms, then forward
 *   drop           close the connection before forwarding (the request never happened)
 *   drop-response  forward, let the backend act, then close without answering (the
 *                  request happened but the caller cannot know: the ambiguous failure)
 *   hang           never answer (until close()); for client-side request timeouts
 *
 * Only node:http; no dependencies. Used by test/hardening/faults.test.ts and soak/run.ts.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export type FaultAction =
  | { readonly kind: 'error'; readonly status: number; readonly type: string; readonly message: string }
  | { readonly kind: 'delay'; readonly ms: number }
  | { readonly kind: 'drop' }
  | { readonly kind: 'drop-response' }
  | { readonly kind: 'hang' };

/** The errors DynamoDB answers with, in its AWS JSON 1.0 shape. */
export const DYNAMODB_FAULTS = {
  internalServerError: {
    kind: 'error',
    status: 500,
    type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
    message: 'Internal server error',
  },
  serviceUnavailable: {
    kind: 'error',
    status: 503,
    type: 'com.amazonaws.dynamodb.v20120810#ServiceUnavailable',
    message: 'Service unavailable',
  },
  throughputExceeded: {
    kind: 'error',
    status: 400,
    type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
    message: 'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
  },
  throttling: {
    kind: 'error',
    status: 400,
    type: 'com.amazon.coral.availability#ThrottlingException',
    message: 'Rate of requests exceeds the allowed throughput.',
  },
} as const satisfies Record<string, FaultAction>;

export interface ProxiedRequest {
  /** Operation name from X-Amz-Target, e.g. `UpdateItem`, `RedriveExecution`; '' if none. */
  readonly op: string;
  /** 0-based index of this request among all the proxy has seen. */
  readonly seq: number;
  /** 0-based index of this request among those of the same operation. */
  readonly opSeq: number;
  /** The SDK's attempt number (amz-sdk-request: attempt=N), 1 for a first try; 0 if not sent. */
  readonly attempt: number;
  /** The request body (AWS JSON), for rules that target one kind of write. */
  readonly body: string;
}

/** Decides the fate of one request; undefined passes it through. */
export type FaultRule = (request: ProxiedRequest) => FaultAction | undefined;

export const passThrough: FaultRule = () => undefined;

export class FaultProxy {
  /** Replace at any time; applies to requests that arrive afterwards. */
  rule: FaultRule;
  private readonly counters = new Map<string, number>();
  private readonly opSeq = new Map<string, number>();
  private seq = 0;
  private readonly held = new Set<http.IncomingMessage>();
  private server: http.Server | undefined;
  private readonly agent = new http.Agent({ keepAlive: true });
  private readonly target: URL;

  constructor(target: string, rule: FaultRule = passThrough) {
    this.target = new URL(target);
    this.rule = rule;
  }

  /** Requests seen, by `op:outcome` (outcome: `pass` or the fault kind/type). */
  counts(): Record<string, number> {
    return Object.fromEntries([...this.counters].sort(([a], [b]) => a.localeCompare(b)));
  }

  /** Total of faults injected (anything but `pass`). */
  faultsInjected(): number {
    let n = 0;
    for (const [k, v] of this.counters) if (!k.endsWith(':pass')) n += v;
    return n;
  }

  resetCounts(): void {
    this.counters.clear();
  }

  listen(port = 0, host = '127.0.0.1'): Promise<string> {
    if (this.server) return Promise.reject(new Error('FaultProxy is already listening'));
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(502).end();
        else res.destroy();
      });
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        const { port: p } = server.address() as AddressInfo;
        resolve(`http://${host}:${p}`);
      });
    });
  }

  close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const req of this.held) req.socket.destroy();
    this.held.clear();
    this.agent.destroy();
    if (!server) return Promise.resolve();
    return new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private count(op: string, outcome: string): void {
    const k = `${op || '(none)'}:${outcome}`;
    this.counters.set(k, (this.counters.get(k) ?? 0) + 1);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    const target = String(req.headers['x-amz-target'] ?? '');
    const op = target.includes('.') ? target.slice(target.lastIndexOf('.') + 1) : '';
    const opSeq = this.opSeq.get(op) ?? 0;
    this.opSeq.set(op, opSeq + 1);
    const attempt = Number(/attempt=(\d+)/.exec(String(req.headers['amz-sdk-request'] ?? ''))?.[1] ?? 0);
    const action = this.rule({ op, seq: this.seq++, opSeq, attempt, body });

    if (!action) {
      this.count(op, 'pass');
      return this.forward(req, body, res);
    }
    switch (action.kind) {
      case 'error': {
        this.count(op, action.type.slice(action.type.lastIndexOf('#') + 1));
        const payload = JSON.stringify({ __type: action.type, message: action.message });
        res.writeHead(action.status, {
          'Content-Type': 'application/x-amz-json-1.0',
          'Content-Length': Buffer.byteLength(payload),
          'x-amzn-RequestId': `fault-${this.seq}`,
        });
        res.end(payload);
        return;
      }
      case 'delay':
        this.count(op, 'delay');
        await new Promise((resolve) => setTimeout(resolve, action.ms));
        return this.forward(req, body, res);
      case 'drop':
        this.count(op, 'drop');
        req.socket.destroy();
        return;
      case 'drop-response':
        this.count(op, 'drop-response');
        await this.forward(req, body, undefined);
        req.socket.destroy();
        return;
      case 'hang':
        this.count(op, 'hang');
        this.held.add(req);
        req.socket.once('close', () => this.held.delete(req));
        return;
    }
  }

  /** Sends the request to the target; copies the answer to `res` (or discards it). */
  private forward(req: http.IncomingMessage, body: string, res: http.ServerResponse | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      const upstream = http.request(
        {
          protocol: this.target.protocol,
          hostname: this.target.hostname,
          port: this.target.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: this.target.host, 'content-length': Buffer.byteLength(body) },
          agent: this.agent,
        },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (c: Buffer) => chunks.push(c));
          answer.on('error', reject);
          answer.on('end', () => {
            const payload = Buffer.concat(chunks);
            if (res && !res.destroyed) {
              const headers = { ...answer.headers, 'content-length': String(payload.length) };
              delete headers['transfer-encoding'];
              delete headers.connection;
              res.writeHead(answer.statusCode ?? 502, headers);
              res.end(payload);
            }
            resolve();
          });
        },
      );
      upstream.on('error', reject);
      upstream.end(body);
    });
  }
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Starts a proxy in front of `target`. */
export async function startFaultProxy(target: string, rule: FaultRule = passThrough): Promise<{ proxy: FaultProxy; endpoint: string }> {
  const proxy = new FaultProxy(target, rule);
  const endpoint = await proxy.listen();
  return { proxy, endpoint };
}
