/**
 * The controller's cost per day at 1,000,000 redrives a day, from what the burst measured
 * per redrive (DynamoDB calls by command, handler duration) and the us-east-1 prices the
 * project collected (sources in the comments; the DynamoDB and arm64 Lambda prices are
 * third-party figures). One model, rendered in bench/results/latest.md; the docs link to it.
 *
 * What it counts: the event path of a single-account deployment (AWS service events on the
 * default bus are free), one Lambda invocation per failure event, each DynamoDB write call
 * as one write unit and each read call as one read unit (items are well under 1 KB / 4 KB),
 * the billed duration at the handler's measured median (an upper bound: on the bench it
 * includes waiting for a rate slot and a local DynamoDB on a shared 2-core machine), and
 * the reconciliation sweep's reads as estimated in docs/organizations.md. Cross-account
 * forwarding in organization mode is shown apart: whether those events are billed as
 * custom events is unconfirmed.
 */
import { LAMBDA_MEMORY_MB } from '../contract/lambda-bundles';

export const REDRIVES_PER_DAY = 1_000_000;

/** USD, us-east-1. */
export const PRICES = {
  /** https://aws.amazon.com/lambda/pricing/: $0.20 per million requests. */
  lambdaRequest: 0.2 / 1e6,
  /** arm64 duration, per GB-second (third-party figure; x86 is $0.0000166667). */
  lambdaArmGbSecond: 0.0000133334,
  /** https://aws.amazon.com/dynamodb/pricing/on-demand/: $0.625 per million write request units. */
  dynamoWriteUnit: 0.625 / 1e6,
  /** $0.125 per million read request units (strongly consistent read of up to 4 KB = 1). */
  dynamoReadUnit: 0.125 / 1e6,
  /** https://aws.amazon.com/eventbridge/pricing/: custom events, $1.00 per million. */
  customEvent: 1 / 1e6,
} as const;

/** The reconciliation sweep's ledger reads a day at this volume (docs/organizations.md). */
export const SWEEP_READS_PER_DAY = 5_000_000;

const WRITE_COMMANDS: Readonly<Record<string, number>> = { PutItem: 1, UpdateItem: 1, DeleteItem: 1, BatchWriteItem: 1, TransactWriteItems: 2 };
const READ_COMMANDS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems']);

export interface CostInput {
  readonly redriven: number;
  /** DynamoDB calls of the whole run, by command name (GetItem, UpdateItem, ...). */
  readonly dynamoCallsByCommand: Readonly<Record<string, number>>;
  /** Lambda invocations per redrive (one status-change event each). */
  readonly invocationsPerRedrive: number;
  /** Billed duration per invocation, ms. */
  readonly handlerMs: number;
}

export interface CostLine {
  readonly item: string;
  readonly formula: string;
  readonly usdPerDay: number;
}

export interface CostResult {
  readonly redrivesPerDay: number;
  readonly writeUnitsPerRedrive: number;
  readonly readUnitsPerRedrive: number;
  readonly lines: readonly CostLine[];
  readonly usdPerDayAtMillionRedrives: number;
  /** Organization mode only, if forwarded events are billed as custom events. */
  readonly organizationForwardingUsdPerDay: number;
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

export function controllerCost(input: CostInput): CostResult {
  const per = (n: number) => n / Math.max(1, input.redriven);
  let writes = 0;
  let reads = 0;
  for (const [command, calls] of Object.entries(input.dynamoCallsByCommand)) {
    if (command in WRITE_COMMANDS) writes += calls * WRITE_COMMANDS[command];
    else if (READ_COMMANDS.has(command)) reads += calls;
  }
  const w = per(writes);
  const r = per(reads);
  const n = REDRIVES_PER_DAY;
  const invocations = n * input.invocationsPerRedrive;
  const gb = LAMBDA_MEMORY_MB / 1024;
  const lines: CostLine[] = [
    { item: 'Lambda requests', formula: `${fmt(invocations)} × $0.20 / M`, usdPerDay: invocations * PRICES.lambdaRequest },
    {
      item: `Lambda duration (${LAMBDA_MEMORY_MB} MB arm64)`,
      formula: `${fmt(invocations)} × ${round(input.handlerMs / 1000, 3)} s × ${gb} GB × $${PRICES.lambdaArmGbSecond}`,
      usdPerDay: invocations * (input.handlerMs / 1000) * gb * PRICES.lambdaArmGbSecond,
    },
    { item: 'DynamoDB writes (on-demand)', formula: `${fmt(n)} × ${round(w, 2)} WRU × $0.625 / M`, usdPerDay: n * w * PRICES.dynamoWriteUnit },
    { item: 'DynamoDB reads', formula: `${fmt(n)} × ${round(r, 2)} RRU × $0.125 / M`, usdPerDay: n * r * PRICES.dynamoReadUnit },
    { item: 'Reconciliation sweep reads (estimate)', formula: `${fmt(SWEEP_READS_PER_DAY)} RRU × $0.125 / M`, usdPerDay: SWEEP_READS_PER_DAY * PRICES.dynamoReadUnit },
  ];
  const total = lines.reduce((sum, l) => sum + l.usdPerDay, 0);
  return {
    redrivesPerDay: n,
    writeUnitsPerRedrive: round(w, 2),
    readUnitsPerRedrive: round(r, 2),
    lines: lines.map((l) => ({ ...l, usdPerDay: round(l.usdPerDay, 2) })),
    usdPerDayAtMillionRedrives: round(total, 2),
    organizationForwardingUsdPerDay: round(invocations * PRICES.customEvent, 2),
  };
}

function fmt(x: number): string {
  return x.toLocaleString('en-US');
}
