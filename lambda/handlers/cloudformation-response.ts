/**
 * The custom resource response: a PUT of a JSON document to the pre-signed S3 URL in the
 * request (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html).
 * CloudFormation waits up to an hour for it, so a response is always sent, retried on
 * network errors and 5xx.
 */
import * as http from 'node:http';
import * as https from 'node:https';

export interface CloudFormationResponse {
  readonly Status: 'SUCCESS' | 'FAILED';
  readonly Reason?: string;
  readonly PhysicalResourceId: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly Data?: Record<string, string>;
}

/** The whole response body must stay under 4 KB. */
const MAX_REASON = 2_000;

export function failureReason(message: string, logStream?: string): string {
  const where = logStream ? ` (log stream ${logStream})` : '';
  const room = MAX_REASON - where.length;
  return (message.length > room ? `${message.slice(0, room - 3)}...` : message) + where;
}

function put(url: string, body: string): Promise<number> {
  const target = new URL(url);
  const client = target.protocol === 'http:' ? http : https;
  return new Promise((resolve, reject) => {
    const req = client.request(
      target,
      // The URL is signed for an empty content type.
      { method: 'PUT', headers: { 'content-type': '', 'content-length': Buffer.byteLength(body) }, timeout: 10_000 },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('timeout', () => req.destroy(new Error('response upload timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

export async function sendResponse(url: string, response: CloudFormationResponse, sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))): Promise<void> {
  const body = JSON.stringify(response);
  let lastError: unknown;
  for (let attempt = 0; attempt < 4; attempt++) {
    if (attempt > 0) await sleep(500 * 2 ** attempt);
    try {
      const status = await put(url, body);
      if (status >= 200 && status < 300) return;
      lastError = new Error(`response upload returned HTTP ${status}`);
      if (status < 500) break;
    } catch (e) {
      lastError = e;
    }
  }
  throw lastError;
}
