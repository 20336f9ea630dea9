/**
 * The partition model (local/partition-model.ts) as a layer in front of a DynamoDB request
 * listener (dynalite's): for a real http.Server and for bench/in-memory-http.ts alike.
 */
import { EventEmitter } from 'node:events';
import type * as http from 'node:http';
import type { PartitionModel } from './partition-model';

/**
 * Wraps a DynamoDB request listener (dynalite's) so every request passes the model first:
 * throttled ones are answered here, the rest are replayed to `listener` and their answers
 * settled. Works for a real http.Server and for bench/in-memory-http.ts alike.
 */
export function withPartitionModel(
  listener: (req: http.IncomingMessage, res: http.ServerResponse) => void,
  model: PartitionModel,
): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  return (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const target = String(req.headers['x-amz-target'] ?? '');
      const op = target.slice(target.lastIndexOf('.') + 1);
      let input: Record<string, unknown> = {};
      try {
        input = body.length ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {};
      } catch {
        // dynalite answers the malformed body itself.
      }
      const verdict = model.admit(op, input);
      if ('status' in verdict) {
        res.writeHead(verdict.status, {
          'Content-Type': 'application/x-amz-json-1.0',
          'Content-Length': Buffer.byteLength(verdict.body),
          'x-amzn-RequestId': 'partition-model-throttle',
        });
        res.end(verdict.body);
        return;
      }
      const end = res.end.bind(res) as (...args: unknown[]) => http.ServerResponse;
      (res as { end: unknown }).end = (...args: unknown[]) => {
        const chunk = args[0];
        model.settle(verdict, res.statusCode, typeof chunk === 'string' || chunk instanceof Uint8Array ? chunk : undefined);
        return end(...args);
      };
      // A fresh request carrying the same body: the original stream is spent.
      const replay = Object.assign(new EventEmitter(), { method: req.method, url: req.url, headers: req.headers, socket: req.socket, connection: req.socket });
      listener(replay as unknown as http.IncomingMessage, res);
      process.nextTick(() => {
        if (body.length > 0) replay.emit('data', body);
        replay.emit('end');
      });
    });
  };
}
