/**
 * State-scoped policies (`neverAtStates`, `onlyAtStates`; docs/policies.md): whether a
 * failure's state keeps it from being redriven. Pure. A failure is at a listed state when
 * an entry matches its innermost failed state or a Parallel / Map state enclosing it. A
 * failure with no failed state (the whole execution timed out or was aborted) is at no
 * state: `neverAtStates` cannot exclude it, and `onlyAtStates` includes it only when it
 * lists its status (`TIMED_OUT`, `ABORTED`, `FAILED`) as an entry of its own.
 */
import type { RedrivePolicy } from '../../contract/policy-schema';
import { describeFailedState, type FailedState } from '../facts/failed-state';
import type { Decision, DecisionSubject } from './decision';

/** A state name or a pattern where `*` stands for any run of characters. */
export function stateMatches(pattern: string, name: string): boolean {
  if (!pattern.includes('*')) return pattern === name;
  const parts = pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('.*')}$`, 's').test(name);
}

/** The first entry matching the failure's state (its innermost name, then the enclosing ones), with the name it matched. */
function firstStateMatch(entries: readonly string[], state: FailedState): { entry: string; name: string } | undefined {
  const names = state.name === null ? [] : [state.name, ...state.enclosing];
  for (const name of names) {
    const entry = entries.find((e) => stateMatches(e, name));
    if (entry !== undefined) return { entry, name };
  }
  return undefined;
}

/** Whether the policy reads the failed state at all (only then is the history read). */
export const usesFailedState = (policy: RedrivePolicy): boolean => policy.neverAtStates !== undefined || policy.onlyAtStates !== undefined;

export type StateScopeSkip = { readonly reason: 'state-excluded' | 'state-not-included'; readonly detail: string };

/**
 * undefined: the state does not stop the redrive. `failedState` undefined: not known (the
 * caller did not read the history), so a policy that needs it does not redrive.
 */
export function stateScopeSkip(policy: RedrivePolicy, failedState: FailedState | undefined, status: string): StateScopeSkip | undefined {
  if (!usesFailedState(policy)) return undefined;
  if (failedState === undefined) {
    return { reason: 'state-excluded', detail: `policy '${policy.key}' is state-scoped and the state the execution failed at is not known` };
  }
  const at = describeFailedState(failedState, status);
  const never = firstStateMatch(policy.neverAtStates ?? [], failedState);
  if (never) return { reason: 'state-excluded', detail: `failed at state ${at}; ${never.name} matches neverAtStates '${never.entry}'` };
  const only = policy.onlyAtStates;
  if (only === undefined) return undefined;
  if (failedState.name === null) {
    return only.includes(status) ? undefined : { reason: 'state-not-included', detail: `${at}; onlyAtStates [${only.join(', ')}] does not list ${status}` };
  }
  return firstStateMatch(only, failedState) ? undefined : { reason: 'state-not-included', detail: `failed at state ${at}, which matches none of onlyAtStates [${only.join(', ')}]` };
}

/**
 * Not decided yet: the failed state a state-scoped policy needs could not be read within
 * `waitedMs` (the history rate is full). The failure goes to the drain, due at `retryAt`,
 * to be decided there through the same path.
 */
export function historyBusyDecision(subject: DecisionSubject & { readonly redriveCount: number }, retryAt: number, now: number, waitedMs: number): Decision {
  const dueAt = Math.max(retryAt, now);
  return {
    ...subject,
    decision: 'redrive-later',
    reason: 'history-busy',
    delaySeconds: Math.ceil((dueAt - now) / 1000),
    dueAt,
    detail: `failed state not read yet: no GetExecutionHistory slot within ${waitedMs} ms; the drain decides it`,
  };
}
