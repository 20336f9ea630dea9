/**
 * The soak's end-of-run checks: every execution the stand-in ran against the ledger the
 * controller wrote (read straight from dynalite, not through the fault proxy).
 */
import { DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { leaks, said } from './telemetry';
import type { ExecutionSummary, MachineName } from './world';

/** The ledger's failure records by `<executionArn>#<redriveCount>`, and its item count. */
export async function readLedger(endpoint: string, tableName: string): Promise<{ failures: Map<string, Record<string, unknown>>; items: number }> {
  const failures = new Map<string, Record<string, unknown>>();
  let start: Record<string, AttributeValue> | undefined;
  let items = 0;
  const direct = new DynamoDBClient({ endpoint });
  do {
    const page = await direct.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: start }));
    for (const raw of page.Items ?? []) {
      items++;
      const item = unmarshall(raw);
      if (said(item)) leaks.ledger++;
      if (typeof item.sk === 'string' && item.sk.startsWith('FAILURE#')) failures.set(`${item.executionArn}#${item.redriveCount}`, item);
    }
    start = page.LastEvaluatedKey;
  } while (start);
  direct.destroy();
  return { failures, items };
}

export interface Verdict {
  /** Final outcome -> executions. */
  readonly outcomes: Map<string, number>;
  readonly lost: number;
  readonly double: number;
  readonly overLimit: number;
  /** Failures still skipped `paused` at the end: the resume should have had them reconsidered. */
  readonly leftPaused: number;
  readonly examples: string[];
}

const FAILURE_STATUSES = new Set(['FAILED', 'TIMED_OUT', 'ABORTED']);

export function judge(
  executions: readonly ExecutionSummary[],
  ledger: ReadonlyMap<string, Record<string, unknown>>,
  context: { readonly dlq: ReadonlySet<string>; readonly maxRedrives: Record<MachineName, number>; readonly releasedByHand: ReadonlySet<string> },
): Verdict {
  const outcomes = new Map<string, number>();
  const note = (k: string) => outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
  let lost = 0;
  let double = 0;
  let overLimit = 0;
  let leftPaused = 0;
  const examples: string[] = [];
  const example = (text: string) => examples.length < 10 && examples.push(text);
  for (const e of executions) {
    if (new Set(e.redrives).size !== e.redrives.length || e.redrives.length !== e.redriveCount) {
      double++;
      example(`double: ${e.arn} redrives ${e.redrives.join(',')} redriveCount ${e.redriveCount}`);
    }
    // A person's release is not stopped by maxRedrives (it may redrive a failure held after exhaustion).
    const limit = context.maxRedrives[e.machine] + (context.releasedByHand.has(e.arn) ? 1 : 0);
    if (e.redrives.length > limit) {
      overLimit++;
      example(`over limit: ${e.arn} (${e.machine}) ${e.redrives.length} redrives`);
    }
    if (!FAILURE_STATUSES.has(e.status)) {
      note(e.status === 'SUCCEEDED' ? (e.redriveCount > 0 ? 'recovered after redrive(s)' : 'succeeded without a redrive') : `still ${e.status}`);
      continue;
    }
    const record = ledger.get(`${e.arn}#${e.redriveCount}`);
    if (!record) {
      if (context.dlq.has(e.arn)) note('ended in the DLQ');
      else {
        lost++;
        note('LOST (no decision recorded)');
        example(`lost: ${e.arn} (${e.machine}) ${e.status} redriveCount ${e.redriveCount}`);
      }
    } else if (record.state === 'skipped') {
      note(`skipped: ${record.reason}`);
      if (record.reason === 'paused') {
        leftPaused++;
        example(`left paused: ${e.arn} (${e.machine}) redriveCount ${e.redriveCount}`);
      }
    } else if (record.state === 'pending' || record.state === 'claimed') note(`pending (${record.state})`);
    else {
      lost++;
      note(`LOST (ledger says ${record.state}, execution still ${e.status})`);
      example(`inconsistent: ${e.arn} (${e.machine}) ledger ${record.state} execution ${e.status}`);
    }
  }
  return { outcomes, lost, double, overLimit, leftPaused, examples };
}
