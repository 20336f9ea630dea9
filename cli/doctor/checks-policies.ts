/**
 * Checks of what the controller decides with: the kill switch, the policies (each valid,
 * by the same parser as the Lambda; each naming a state machine that exists and is
 * Standard), and the state machines that failed recently with no policy to redrive them.
 */
import { isCanaryArn } from '../../contract/canary';
import { isStateMachineArn, parseStateMachineArn } from '../../contract/arn';
import { selectPolicyKey } from '../../lambda/policy/policy-match';
import { KillSwitch } from '../../lambda/record/kill-switch';
import { isoTime } from '../output';
import type { StoredPolicy } from '../policy-store';
import { lastStopped, stateMachineType } from './aws';
import { type Check, fail, notChecked, ok, warn } from './check';
import type { DoctorEnv } from './env';

const DAY_MS = 86_400_000;
/** Names listed in one line, at most; the JSON document has them all. */
const SHOWN = 5;

const listed = (names: readonly string[]) => (names.length > SHOWN ? `${names.slice(0, SHOWN).join(', ')} and ${names.length - SHOWN} more` : names.join(', '));

export const killSwitchCheck: Check<DoctorEnv> = {
  id: 'kill-switch',
  title: 'kill switch',
  async run(env) {
    const state = await new KillSwitch(env.clients.doc(), (await env.facts.tables()).ledger).read();
    if (!state.paused) return ok('not paused');
    return fail(
      `PAUSED since ${isoTime(state.at) ?? '?'} by ${state.by ?? '?'}: ${state.reason ?? '(no reason)'}: no path redrives`,
      'redrivectl resume (once the reason no longer holds); failures meanwhile are reconsidered after resume',
      { paused: true, reason: state.reason ?? null, by: state.by ?? null, since: isoTime(state.at) },
    );
  },
};

export const policiesCheck: Check<DoctorEnv> = {
  id: 'policies',
  title: 'policies valid',
  async run(env) {
    const policies = await env.facts.policies();
    if (!policies.length) return warn('no policies: auto-redrive redrives nothing (it is opt-in)', "add one: redrivectl policy put '<state machine ARN or pattern>' --max-redrives 3");
    const invalid = policies.filter((p) => p.issues.length > 0);
    const data = { count: policies.length, invalid: invalid.map((p) => ({ key: p.key, issues: p.issues })) };
    if (invalid.length) {
      const first = invalid[0];
      return fail(
        `${invalid.length} of ${policies.length} invalid (the controller skips their failures as policy-invalid): ${first.key}: ${first.issues.map((i) => `${i.field}: ${i.message}`).join('; ')}${invalid.length > 1 ? ` (and ${invalid.length - 1} more)` : ''}`,
        `redrivectl policy validate lists every problem; correct it with redrivectl policy put '${first.key}' ... or remove it with redrivectl policy delete '${first.key}'`,
        data,
      );
    }
    const disabled = policies.filter((p) => p.parsed.ok && !p.parsed.policy.enabled).length;
    return ok(`${policies.length} valid${disabled ? ` (${disabled} disabled)` : ''}`, data);
  },
};

/** Whether an enabled, valid policy covers the state machine (the controller's choice of key). */
export function coveringPolicy(policies: readonly StoredPolicy[], stateMachineArn: string): StoredPolicy | undefined {
  const key = selectPolicyKey(
    policies.map((p) => p.key),
    stateMachineArn,
  );
  const stored = policies.find((p) => p.key === key);
  return stored?.parsed.ok && stored.parsed.policy.enabled ? stored : undefined;
}

export const policyTargetsCheck: Check<DoctorEnv> = {
  id: 'policy-targets',
  title: 'policies name Standard state machines',
  timeoutMs: 90_000,
  async run(env) {
    const [policies, where] = await Promise.all([env.facts.policies(), env.facts.where()]);
    const exact = policies.filter((p) => !p.key.includes('*') && isStateMachineArn(p.key));
    const here = exact.filter((p) => {
      const arn = parseStateMachineArn(p.key);
      return arn.region === where.region && (!where.account || arn.account === where.account);
    });
    if (!here.length) {
      return notChecked(`no policy names a state machine ARN in ${where.account ?? 'this account'} ${where.region}${exact.length ? ` (${exact.length} name other accounts or Regions)` : ''}; patterns are not checked`);
    }
    const missing: string[] = [];
    const express: string[] = [];
    const checked = here.slice(0, env.options.maxMachines);
    for (const p of checked) {
      await env.stepFunctionsTurn();
      const type = await stateMachineType(env.clients.sfn(), p.key);
      if (type === undefined) missing.push(p.key);
      else if (type === 'EXPRESS') express.push(p.key);
    }
    const data = { checked: checked.length, here: here.length, elsewhere: exact.length - here.length, missing, express };
    const problems = [
      missing.length ? `${missing.length} name state machines that do not exist: ${listed(missing)}` : '',
      express.length ? `${express.length} name Express state machines, which cannot be redriven: ${listed(express)}` : '',
    ].filter(Boolean);
    if (problems.length) {
      return warn(`${problems.join('; ')}`, `correct the ARN or remove the policy (redrivectl policy delete '${missing[0] ?? express[0]}')`, data);
    }
    const bounded = checked.length < here.length ? ` (the first ${checked.length} of ${here.length} checked)` : '';
    return ok(`${checked.length} policy key(s) name existing Standard state machines${bounded}`, data);
  },
};

export const uncoveredFailuresCheck: Check<DoctorEnv> = {
  id: 'uncovered-failures',
  title: 'recent failures without a policy',
  timeoutMs: 180_000,
  async run(env) {
    const [policies, { machines, complete }] = await Promise.all([env.facts.policies(), env.facts.stateMachines()]);
    const uncovered = machines.filter((m) => m.type === 'STANDARD' && !isCanaryArn(m.arn) && !coveringPolicy(policies, m.arn));
    const since = env.now() - env.options.failureWindowDays * DAY_MS;
    const checked = uncovered.slice(0, env.options.maxMachines);
    const failing: Array<{ arn: string; lastFailure: string | null }> = [];
    for (const m of checked) {
      let last: number | undefined;
      for (const status of ['FAILED', 'TIMED_OUT'] as const) {
        // Paced under ListExecutions' quota: the first page of one execution per machine and status.
        await env.stepFunctionsTurn();
        const at = await lastStopped(env.clients.sfn(), m.arn, status);
        if (at !== undefined && at >= since) last = Math.max(last ?? 0, at);
      }
      if (last !== undefined) failing.push({ arn: m.arn, lastFailure: isoTime(last) });
    }
    const bounded = checked.length < uncovered.length || !complete;
    const scope = `${machines.length} state machine(s), ${uncovered.length} without an enabled policy${bounded ? `, the first ${checked.length} of them checked` : ''}`;
    const data = { stateMachines: machines.length, uncovered: uncovered.length, checked: checked.length, failing };
    if (failing.length) {
      return warn(
        `${failing.length} failed or timed out in the last ${env.options.failureWindowDays} days with no policy: ${listed(failing.map((f) => f.arn.split(':').pop()!))} (${scope})`,
        `if they should be redriven: redrivectl what-if, then redrivectl policy put '${failing[0].arn}' ...`,
        data,
      );
    }
    return ok(`none (${scope})`, data);
  },
};

