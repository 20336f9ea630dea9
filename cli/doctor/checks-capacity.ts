/**
 * Checks that the redrive path works end to end and can keep up: the canary's last
 * recovery, the controller role's permission to redrive the covered state machines
 * (IAM's policy simulator: identity policies, permission boundaries, SCPs), and the
 * configured rates against the account's Step Functions quotas.
 */
import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { CANARY_STATUS_PK, canaryStatusSk, isCanaryArn } from '../../contract/canary';
import { readRecordedRate } from '../../lambda/act/rate-limiter';
import { isoTime } from '../output';
import { simulate, stepFunctionsQuotas } from './aws';
import { type Check, type CheckResult, errorLine, fail, isAccessDenied, notChecked, ok, warn } from './check';
import { controllerRole } from './checks-deployment';
import { coveringPolicy } from './checks-policies';
import type { DoctorEnv } from './env';
import { documentedRefill, listedRefill, type QuotaApi } from './quotas';

const MINUTE_MS = 60_000;
/** Covered state machines whose permission is simulated, at most (5 simulator calls). */
const MAX_SIMULATED = 100;
/** Allowance on top of two canary intervals (a slow schedule, a backoff, a cold start), as the canary alarm has. */
export const CANARY_MARGIN_MINUTES = 15;

const ago = (ms: number) => (ms < 2 * 3_600_000 ? `${Math.round(ms / MINUTE_MS)} min` : `${(ms / 3_600_000).toFixed(1)} h`);

const RUNBOOK =
  'auto-redrive is not redriving here: go through docs/runbook.md in order: the rule, the controller role (permissions, boundaries, SCPs), the kill switch, the Step Functions quota, the DLQ (the checks above)';

interface CanaryStatus {
  readonly account: string;
  readonly region: string;
  readonly recoveredAt: number;
  readonly recoveries: unknown;
}

/** Every canary status item (one per account and Region served: organization members too). */
async function canaryStatuses(doc: DynamoDBDocumentClient, ledger: string): Promise<CanaryStatus[]> {
  const found: CanaryStatus[] = [];
  // The sort keys' common prefix ('CANARY#'), from the shared key function.
  const prefix = canaryStatusSk('', '').replace(/#+$/, '#');
  let start: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new QueryCommand({
        TableName: ledger,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': CANARY_STATUS_PK, ':prefix': prefix },
        ExclusiveStartKey: start,
        ConsistentRead: true,
      }),
    );
    for (const item of page.Items ?? []) {
      const [, account = '', region = ''] = String(item.sk).split('#');
      const at = typeof item.recoveredAt === 'string' ? Date.parse(item.recoveredAt) : NaN;
      found.push({ account, region, recoveredAt: at, recoveries: item.recoveries ?? null });
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return found;
}

export const canaryCheck: Check<DoctorEnv> = {
  id: 'canary',
  title: "canary's last recovery",
  async run(env) {
    const [d, tables, where, { machines }] = await Promise.all([env.facts.usableDeployment(), env.facts.tables(), env.facts.where(), env.facts.stateMachines()]);
    if (!where.account) return notChecked('the account is unknown (the state file predates it: restart npm run local)');
    const statuses = await canaryStatuses(env.clients.doc(), tables.ledger);
    const limitMs = (2 * env.options.canaryIntervalMinutes + CANARY_MARGIN_MINUTES) * MINUTE_MS;
    const now = env.now();
    const own = statuses.find((c) => c.account === where.account && c.region === where.region);
    // Organization mode: the members' canaries, recovered by this controller through their forwarding rules.
    const members = statuses.filter((c) => c !== own);
    const staleMembers = members.filter((c) => !(now - c.recoveredAt <= limitMs));
    const canaries = machines.filter((m) => isCanaryArn(m.arn)).map((m) => m.name);
    const data = {
      recoveredAt: isoTime(own?.recoveredAt),
      recoveries: own?.recoveries ?? null,
      canaries,
      limitMinutes: limitMs / MINUTE_MS,
      members: members.map((c) => ({ account: c.account, region: c.region, recoveredAt: isoTime(c.recoveredAt) })),
    };
    const result = ownCanary(env, own, canaries, d.mode, d.createdAt, limitMs, data);
    if (!staleMembers.length || result.status === 'fail') return result;
    const names = staleMembers.map((c) => `${c.account} ${c.region} (last ${isoTime(c.recoveredAt) ?? 'never'})`);
    return fail(
      `${result.detail}; but ${staleMembers.length} of ${members.length} member canaries have not recovered for over ${limitMs / MINUTE_MS} min: ${names.slice(0, 5).join(', ')}`,
      "check each member's stack (its forwarding rule, the member role the controller assumes: docs/organizations.md); a member no longer served keeps its old status item (pk CONTROL, sk CANARY#<account>#<region>): delete it",
      data,
    );
  },
};

function ownCanary(
  env: DoctorEnv,
  own: CanaryStatus | undefined,
  canaries: readonly string[],
  mode: 'stack' | 'local',
  createdAt: number | undefined,
  limitMs: number,
  data: Record<string, unknown>,
): CheckResult {
  const now = env.now();
  if (own && Number.isFinite(own.recoveredAt)) {
    const age = now - own.recoveredAt;
    if (age <= limitMs) return ok(`last recovery ${ago(age)} ago (${isoTime(own.recoveredAt)})`, data);
    return fail(`no canary recovery for ${ago(age)} (last ${isoTime(own.recoveredAt)}; expected every ${env.options.canaryIntervalMinutes} min)`, RUNBOOK, data);
  }
  if (!canaries.length) {
    return warn('canary off: no AutoRedriveCanary state machine in this account and Region, nothing proves the redrive path', 'turn the canary on (the canary prop or setting, on by default) and deploy again', data);
  }
  const age = createdAt === undefined ? undefined : now - createdAt;
  if (age !== undefined && age > limitMs) return fail(`no canary recovery recorded, and the ${mode === 'local' ? 'stand-ins started' : 'stack was created'} ${ago(age)} ago`, RUNBOOK, data);
  return warn(
    `no canary recovery recorded yet${age === undefined ? '' : ` (deployed ${ago(age)} ago)`}`,
    `run doctor again after the first interval (${env.options.canaryIntervalMinutes} min; --canary-interval if the stack sets another)`,
    data,
  );
}

export const redrivePermissionCheck: Check<DoctorEnv> = {
  id: 'redrive-permission',
  title: 'controller may redrive',
  timeoutMs: 60_000,
  async run(env) {
    const d = await env.facts.usableDeployment();
    if (d.mode === 'local') return notChecked('not checked locally: the stand-ins have no IAM');
    const [policies, { machines }] = await Promise.all([env.facts.policies(), env.facts.stateMachines()]);
    const covered = machines.filter((m) => m.type === 'STANDARD' && coveringPolicy(policies, m.arn));
    if (!covered.length) return notChecked('no state machine in this account and Region is covered by an enabled policy');
    let role: string;
    try {
      role = await controllerRole(env, d);
    } catch (e) {
      return notChecked(`the controller's role is unknown: ${errorLine(e)}`);
    }
    // The least-privilege grant the docs give: states:RedriveExecution on every execution
    // of the machine. Bounded: 20 resources per simulator call.
    const resources = covered.slice(0, MAX_SIMULATED).map((m) => `${m.arn.replace(':stateMachine:', ':execution:')}:*`);
    let decisions;
    try {
      decisions = await simulate(env.clients.iam(), role, 'states:RedriveExecution', resources);
    } catch (e) {
      if (isAccessDenied(e)) return notChecked(`the caller may not use IAM's policy simulator (iam:SimulatePrincipalPolicy): ${errorLine(e)}`);
      throw e;
    }
    const denied = decisions.filter((r) => r.decision !== 'allowed');
    const data = { role, checked: resources.length, denied };
    if (denied.length) {
      const names = denied.map((r) => `${r.resource.split(':')[6] ?? r.resource} (${r.decision})`);
      return fail(
        `the controller role may not redrive ${denied.length} of ${resources.length} covered state machine(s): ${names.slice(0, 5).join(', ')}${names.length > 5 ? ' ...' : ''}`,
        denied.some((r) => r.decision === 'explicitDeny')
          ? 'an explicit deny (an SCP, a permission boundary or a policy) blocks states:RedriveExecution: remove it for the controller role'
          : "grant it: add the state machines to the construct's stateMachineArns (or leave it open) and deploy again",
        data,
      );
    }
    const bounded = resources.length < covered.length ? ` (the first ${resources.length} of ${covered.length})` : '';
    return ok(`${role.split('/').pop()} may redrive all ${resources.length} covered state machine(s)${bounded} (IAM policy simulator)`, data);
  },
};

export const rateQuotaCheck: Check<DoctorEnv> = {
  id: 'rate-quota',
  title: 'rate within quota',
  async run(env) {
    const d = await env.facts.usableDeployment();
    if (d.mode === 'local') return notChecked('not checked locally: the stand-in has no Step Functions quotas');
    const [tables, where] = await Promise.all([env.facts.tables(), env.facts.where()]);
    const apis: QuotaApi[] = ['RedriveExecution', 'DescribeExecution'];
    const recorded = await Promise.all(apis.map((api) => readRecordedRate(env.clients.doc(), tables.ledger, api)));
    if (!recorded[0]) {
      return warn(
        'the controller has recorded no rate in the ledger (its drain records it every run)',
        'check that the drain runs (see the errors check); a version from before the rate was recorded: deploy the current one',
      );
    }
    let listed = new Map<string, number>();
    let source = 'Service Quotas';
    try {
      listed = await stepFunctionsQuotas(env.clients.quotas());
    } catch (e) {
      source = `the documented defaults (Service Quotas: ${errorLine(e).split(':')[0]})`;
    }
    const rows = apis.map((api, i) => {
      const fromAccount = listedRefill(listed, api);
      return { api, rate: recorded[i]?.ratePerSecond ?? null, quota: fromAccount ?? documentedRefill(api, where.region), source: fromAccount === undefined ? 'documented default' : 'Service Quotas' };
    });
    if (!rows.some((r) => r.source === 'Service Quotas') && source === 'Service Quotas') source = 'the documented defaults';
    const data = { region: where.region, rates: rows };
    const line = rows.map((r) => `${r.api} ${r.rate ?? '?'}/s of ${r.quota}/s`).join('; ');
    const above = rows.filter((r) => r.rate !== null && r.rate > r.quota);
    if (above.length) {
      return warn(
        `above the account's refill rate: ${line} (quotas: ${source}): calls beyond it are throttled and retried`,
        'lower redriveRatePerSecond / describeRatePerSecond (docs/settings.md), or request a higher Step Functions quota in Service Quotas',
        data,
      );
    }
    return ok(`${line} (quotas: ${source})`, data);
  },
};
