/**
 * Parses "Step Functions Execution Status Change" events into typed values.
 *
 * The schema follows the real events in test/fixtures/status-change-events. The redrive
 * fields (redriveCount, redriveStatus, ...) are present in real events but not in AWS's
 * documented structure, so they are optional here: when they are missing the controller
 * checks the execution before acting.
 * https://docs.aws.amazon.com/step-functions/latest/dg/eventbridge-integration.html
 *
 * `input` and `output` are deliberately not part of the parsed value: they can hold
 * secrets, and what is not parsed cannot be logged.
 */
import * as z from 'zod';
import { STATUS_CHANGE_DETAIL_TYPE, STATUS_CHANGE_SOURCE } from '../../contract/event-pattern';
import { ARN_PATTERNS, parseExecutionArn } from '../../contract/arn';

export const EXECUTION_STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE'] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];
export const REDRIVE_STATUSES = ['REDRIVABLE', 'NOT_REDRIVABLE', 'REDRIVABLE_BY_MAP_RUN'] as const;
export type RedriveStatus = (typeof REDRIVE_STATUSES)[number];

const epochMs = z.number().int().nonnegative().max(253_402_300_799_999); // up to 9999-12-31T23:59:59.999Z: a Date can represent it

const detailSchema = z.object({
  executionArn: z.string().regex(ARN_PATTERNS.execution, 'not a Step Functions execution ARN'),
  stateMachineArn: z.string().regex(ARN_PATTERNS.stateMachine, 'not a Step Functions state machine ARN'),
  name: z.string().min(1).max(256),
  status: z.enum(EXECUTION_STATUSES),
  startDate: epochMs,
  stopDate: epochMs.nullish(),
  redriveCount: z.number().int().min(0).max(1_000_000).nullish(),
  redriveDate: epochMs.nullish(),
  redriveStatus: z.enum(REDRIVE_STATUSES).nullish(),
  redriveStatusReason: z.string().max(1024).nullish(),
  // AWS caps error at 256 and cause at 32,768 characters.
  error: z.string().max(256).nullish(),
  cause: z.string().max(32_768).nullish(),
});

const envelopeSchema = z.object({
  id: z.string().min(1).max(256),
  'detail-type': z.literal(STATUS_CHANGE_DETAIL_TYPE),
  source: z.literal(STATUS_CHANGE_SOURCE),
  account: z.string().regex(/^\d{12}$/, 'not a 12-digit account id'),
  time: z.iso.datetime({ offset: true }),
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'not an AWS Region'),
  detail: detailSchema,
});

/** A parsed status-change event: everything the controller may use, and nothing more. */
export interface StatusChange {
  readonly eventId: string;
  /** Event time (when Step Functions emitted it), epoch ms. */
  readonly eventTime: number;
  readonly account: string;
  readonly region: string;
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  readonly status: ExecutionStatus;
  readonly startDate: number;
  readonly stopDate: number | null;
  /** Missing in older or synthesized events; the controller then checks the execution. */
  readonly redriveCount: number | null;
  readonly redriveDate: number | null;
  readonly redriveStatus: RedriveStatus | null;
  readonly redriveStatusReason: string | null;
  readonly error: string | null;
  readonly cause: string | null;
  /** Set for a Distributed Map child execution (`execution:Machine/Label:id`). */
  readonly mapRunLabel?: string;
}

export type ParseResult =
  | { readonly ok: true; readonly event: StatusChange }
  | { readonly ok: false; readonly error: MalformedEventError };

/** A status-change event that cannot be acted on. Retrying it is useless. */
export class MalformedEventError extends Error {
  constructor(
    readonly eventId: string | undefined,
    readonly problems: readonly string[],
  ) {
    super(`malformed status-change event ${eventId ?? '(no id)'}: ${problems.join('; ')}`);
    this.name = 'MalformedEventError';
  }
}

function eventIdOf(raw: unknown): string | undefined {
  if (typeof raw === 'object' && raw !== null && typeof (raw as { id?: unknown }).id === 'string') {
    return ((raw as { id: string }).id).slice(0, 256);
  }
  return undefined;
}

/** Field paths and messages only: never the offending values, which may be secrets. */
function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(event)'}: ${i.message}`);
}

export function parseStatusChange(raw: unknown): ParseResult {
  const eventId = eventIdOf(raw);
  const parsed = envelopeSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, error: new MalformedEventError(eventId, describeIssues(parsed.error)) };
  const e = parsed.data;
  const d = e.detail;

  // Cross-field checks: the ARNs must name the same state machine, account and Region as
  // the envelope, so a forged or mangled event cannot point the controller elsewhere.
  const exec = parseExecutionArn(d.executionArn);
  const problems: string[] = [];
  const smArn = `arn:${exec.partition}:states:${exec.region}:${exec.account}:stateMachine:${exec.stateMachineName}`;
  // A Distributed Map child may name its parent machine with or without the Map Run label.
  const smArns = exec.mapRunLabel === undefined ? [smArn] : [smArn, `${smArn}/${exec.mapRunLabel}`];
  if (!smArns.includes(d.stateMachineArn)) problems.push('detail.stateMachineArn: does not match detail.executionArn');
  if (exec.account !== e.account) problems.push('account: does not match detail.executionArn');
  if (exec.region !== e.region) problems.push('region: does not match detail.executionArn');
  if (d.stopDate != null && d.stopDate < d.startDate) problems.push('detail.stopDate: before detail.startDate');
  if (problems.length > 0) return { ok: false, error: new MalformedEventError(eventId, problems) };

  return {
    ok: true,
    event: {
      eventId: e.id,
      eventTime: Date.parse(e.time),
      account: e.account,
      region: e.region,
      executionArn: d.executionArn,
      stateMachineArn: d.stateMachineArn,
      name: d.name,
      status: d.status,
      startDate: d.startDate,
      stopDate: d.stopDate ?? null,
      redriveCount: d.redriveCount ?? null,
      redriveDate: d.redriveDate ?? null,
      redriveStatus: d.redriveStatus ?? null,
      redriveStatusReason: d.redriveStatusReason ?? null,
      error: d.error ?? null,
      cause: d.cause ?? null,
      ...(exec.mapRunLabel === undefined ? {} : { mapRunLabel: exec.mapRunLabel }),
    },
  };
}
