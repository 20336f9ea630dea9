/**
 * Plumbing shared by the local AWS JSON 1.0 stand-ins (Step Functions, SQS): start and
 * stop the HTTP server, read a request body and parse it as the JSON object the protocol
 * requires. Each stand-in turns the problem into its own service's error shape.
 */
import type * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Starts `server` on host:port (0: a free port); resolves its endpoint URL, e.g. http://127.0.0.1:34567. */
export function listenOn(server: http.Server, port: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const a = server.address() as AddressInfo;
      resolve(`http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`);
    });
  });
}

/** Stops `server`, closing kept-alive connections too (the SDK keeps them; close() alone would wait for them to idle out). */
export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    server.closeAllConnections();
  });
}

export function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The body as a JSON object (`{}` when empty), or the reason it is not one. */
export function parseJsonObject(body: string): { ok: true; value: Record<string, unknown> } | { ok: false; problem: string } {
  if (body.trim() === '') return { ok: true, value: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { ok: false, problem: 'Request body is not valid JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { ok: false, problem: 'Request body must be a JSON object' };
  return { ok: true, value: parsed as Record<string, unknown> };
}
