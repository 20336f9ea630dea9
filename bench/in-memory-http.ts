/**
 * An SDK request handler that hands each request straight to an in-process Node HTTP
 * request listener (dynalite's, the Step Functions stand-in's) with minimal stand-ins for
 * IncomingMessage and ServerResponse: no sockets, no HTTP parsing.
 *
 * Used for the simulated-time outage runs only, where wall time does not change any
 * result and a loopback round trip (a kernel write and read on each side) costs more CPU
 * on this machine than the DynamoDB operation itself. Everything above the transport
 * (SDK serialisation, signing, retries, dynalite's request handling) is unchanged. The
 * burst, which measures real time, uses real sockets.
 */
import { EventEmitter } from 'node:events';
import type * as http from 'node:http';

export type RequestListener = (req: http.IncomingMessage, res: http.ServerResponse) => void;

interface SdkHttpRequest {
  readonly method: string;
  readonly path: string;
  readonly query?: Record<string, string | string[] | null>;
  readonly headers: Record<string, string>;
  readonly body?: unknown;
}

interface SdkHttpResponse {
  readonly statusCode: number;
  readonly reason?: string;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array;
}

class FakeRequest extends EventEmitter {
  readonly socket = { destroy: () => undefined, once: () => undefined };
  constructor(
    readonly method: string,
    readonly url: string,
    readonly headers: Record<string, string>,
  ) {
    super();
  }
}

class FakeResponse {
  statusCode = 200;
  headersSent = false;
  contentType?: string;
  private readonly headers: Record<string, string> = {};
  constructor(private readonly done: (response: SdkHttpResponse) => void) {}
  setHeader(name: string, value: unknown): this {
    this.headers[name.toLowerCase()] = String(value);
    return this;
  }
  writeHead(status: number, headers: Record<string, unknown> = {}): this {
    this.statusCode = status;
    for (const [k, v] of Object.entries(headers)) this.setHeader(k, v);
    this.headersSent = true;
    return this;
  }
  end(body?: string | Uint8Array): void {
    this.headersSent = true;
    const bytes = body === undefined ? new Uint8Array() : typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    this.done({ statusCode: this.statusCode, headers: this.headers, body: bytes });
  }
}

function bodyBytes(body: unknown): Buffer {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  // A view on the same bytes (Buffer.from(uint8Array) would call the SDK adapter's valueOf()).
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new Error('in-memory HTTP: streaming request bodies are not supported');
}

/** A `requestHandler` for an AWS SDK v3 client that calls `listener` in process. */
export function inMemoryRequestHandler(listener: RequestListener) {
  return {
    metadata: { handlerProtocol: 'h1-in-memory' },
    async handle(request: SdkHttpRequest): Promise<{ response: SdkHttpResponse }> {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(request.headers)) headers[k.toLowerCase()] = v;
      const query = new URLSearchParams();
      for (const [k, v] of Object.entries(request.query ?? {})) {
        for (const value of Array.isArray(v) ? v : [v]) query.append(k, value ?? '');
      }
      const search = query.toString();
      const req = new FakeRequest(request.method, `${request.path}${search ? `?${search}` : ''}`, headers);
      const body = bodyBytes(request.body);
      const response = await new Promise<SdkHttpResponse>((resolve) => {
        listener(req as unknown as http.IncomingMessage, new FakeResponse(resolve) as unknown as http.ServerResponse);
        // As a socket would: the body arrives after the listener has attached its handlers.
        process.nextTick(() => {
          if (body.length > 0) req.emit('data', body);
          req.emit('end');
        });
      });
      return { response };
    },
    updateHttpClientConfig(): void {},
    httpHandlerConfigs(): Record<string, never> {
      return {};
    },
    destroy(): void {},
  };
}

/**
 * A `signer` for SDK clients on the in-memory transport: the headers of a SigV4 signature
 * (dynalite and the stand-in read the credential and the date, and check no signature)
 * without computing one. Hashing every request's body and HMAC-ing its headers was about
 * 5% of the storm's CPU; nothing on this transport verifies it.
 */
export const inMemorySigner = {
  async sign<T extends { headers: Record<string, string> }>(request: T, options: { signingDate?: Date; signingRegion?: string; signingService?: string } = {}): Promise<T> {
    const date = (options.signingDate ?? new Date()).toISOString().replace(/[:-]|\.\d{3}/g, '');
    const scope = `${date.slice(0, 8)}/${options.signingRegion ?? 'us-east-1'}/${options.signingService ?? 'unknown'}/aws4_request`;
    request.headers['x-amz-date'] = date;
    request.headers.authorization = `AWS4-HMAC-SHA256 Credential=${process.env.AWS_ACCESS_KEY_ID ?? 'local'}/${scope}, SignedHeaders=host;x-amz-date, Signature=0`;
    return request;
  },
};

/** The request listener of a Node HTTP server (the first 'request' listener). */
export function listenerOf(server: http.Server): RequestListener {
  const [listener] = server.listeners('request') as RequestListener[];
  if (!listener) throw new Error('in-memory HTTP: the server has no request listener');
  return listener;
}
