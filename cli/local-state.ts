/**
 * The hand-over file between `npm run local` (local/serve.ts, which writes it while it
 * runs) and `redrivectl --local` (which reads it): where the local stand-ins listen.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { failed } from './errors';

export interface LocalState {
  readonly endpoints: { readonly sfn: string; readonly dynamodb: string; readonly sqs: string };
  readonly tables: { readonly policy: string; readonly ledger: string };
  readonly dlqUrl: string;
  readonly region: string;
  /** The local controller's RedriveExecution rate (redrivectl release and backfill use it; absent in older files). */
  readonly redriveRatePerSecond?: number;
  /** The local EventBridge stand-in and its rule (redrivectl doctor; absent in older files). */
  readonly eventBridge?: { readonly endpoint: string; readonly ruleName: string; readonly controllerArn: string };
  /** The stand-ins' account, and when they started (ISO 8601); absent in older files. */
  readonly account?: string;
  readonly startedAt?: string;
}

/** `.local-state/local.json` at the repository root; AUTO_REDRIVE_LOCAL_STATE overrides it. */
export function localStatePath(env: NodeJS.ProcessEnv = process.env): string {
  return env.AUTO_REDRIVE_LOCAL_STATE || path.resolve(__dirname, '..', '.local-state', 'local.json');
}

export function readLocalState(env: NodeJS.ProcessEnv = process.env): LocalState {
  const file = localStatePath(env);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw failed(`--local: ${file} not found: the local stand-ins are not running (start them with: npm run local)`);
  }
  let state: LocalState;
  try {
    state = JSON.parse(text) as LocalState;
  } catch {
    throw failed(`--local: ${file}: not valid JSON (restart: npm run local)`);
  }
  const ok =
    typeof state?.endpoints?.sfn === 'string' &&
    typeof state.endpoints.dynamodb === 'string' &&
    typeof state.endpoints.sqs === 'string' &&
    typeof state.tables?.policy === 'string' &&
    typeof state.tables.ledger === 'string' &&
    typeof state.dlqUrl === 'string' &&
    typeof state.region === 'string';
  if (!ok) throw failed(`--local: ${file}: missing endpoints, tables, dlqUrl or region (restart: npm run local)`);
  if (state.redriveRatePerSecond !== undefined && !(typeof state.redriveRatePerSecond === 'number' && state.redriveRatePerSecond > 0)) {
    throw failed(`--local: ${file}: redriveRatePerSecond must be a number above 0 (restart: npm run local)`);
  }
  return state;
}
