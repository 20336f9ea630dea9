/**
 * Lambda entry point of the RedrivePolicy custom resource (lib/redrive-policy.ts): writes,
 * replaces or deletes one policy item (policy/managed-policy.ts) and sends CloudFormation
 * its response. Every request gets a response, a failure included, with the reason
 * CloudFormation shows in the stack events (for an invalid item: the schema's message).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { REQUEST_TIMEOUTS } from '../act/request-timeouts';
import { PowertoolsLog, PowertoolsMetrics } from '../observability/telemetry';
import { applyPolicyResource, type PolicyResourceRequest } from '../policy/managed-policy';
import { type CloudFormationResponse, failureReason, sendResponse } from './cloudformation-response';

export interface PolicyResourceEvent extends PolicyResourceRequest {
  readonly ResponseURL: string;
  readonly StackId: string;
  readonly ResourceType: string;
}

interface InvocationContext {
  readonly logStreamName?: string;
  getRemainingTimeInMillis?(): number;
}

/** Time kept back from the Lambda timeout to send a failure response. */
const RESPONSE_RESERVE_MS = 5_000;

const logger = new PowertoolsLog();
let dynamodb: DynamoDBClient | undefined;

function deadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the policy table did not answer within ${Math.round(ms / 1000)} s`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export async function handler(event: PolicyResourceEvent, context?: InvocationContext): Promise<CloudFormationResponse> {
  dynamodb ??= new DynamoDBClient({ requestHandler: REQUEST_TIMEOUTS });
  const metrics = new PowertoolsMetrics();
  const base = { StackId: event.StackId, RequestId: event.RequestId, LogicalResourceId: event.LogicalResourceId };
  let response: CloudFormationResponse;
  try {
    const budget = (context?.getRemainingTimeInMillis?.() ?? 60_000) - RESPONSE_RESERVE_MS;
    const result = await deadline(applyPolicyResource(event, { dynamodb, log: logger, metrics, clock: Date.now }), budget);
    response = { ...base, Status: 'SUCCESS', PhysicalResourceId: result.physicalResourceId, Data: result.data };
  } catch (e) {
    const message = (e as Error).message ?? String(e);
    logger.error('policy resource request failed', { requestType: event.RequestType, logicalResourceId: event.LogicalResourceId, errorName: (e as Error).name, error: message });
    response = {
      ...base,
      Status: 'FAILED',
      Reason: failureReason(message, context?.logStreamName),
      // A failed Create has no id yet; its rollback Delete then finds nothing of its own to remove.
      PhysicalResourceId: event.PhysicalResourceId ?? `failed-${event.RequestId}`,
    };
  } finally {
    metrics.flush();
  }
  await sendResponse(event.ResponseURL, response);
  return response;
}
