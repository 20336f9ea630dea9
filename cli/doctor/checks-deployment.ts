/**
 * Checks of what was deployed: the stack and its outputs, the rule (enabled, targeting the
 * controller), the controller's and the drain's errors, the dead-letter queue.
 */
import { describeRule, functionRole, lambdaHealth, queueDepth } from './aws';
import { type Check, errorLine, fail, isAccessDenied, notChecked, ok, warn } from './check';
import type { Deployment, DoctorEnv } from './env';

const HOUR_MS = 3_600_000;
const LOCAL_RESTART = 'restart the stand-ins (Ctrl-C, then npm run local)';

const FAILED_STACK = /FAILED$|^ROLLBACK_COMPLETE$|^DELETE_/;
const SETTLED_STACK = /_COMPLETE$/;

export const stackCheck: Check<DoctorEnv> = {
  id: 'stack',
  title: 'stack and outputs',
  async run(env) {
    const result = await env.facts.deployment();
    if (!result.ok) return fail(result.problem, result.fix);
    const d = result.deployment;
    if (d.mode === 'local') {
      return d.rules.length
        ? ok(`${d.label}: tables ${d.policyTable}, ${d.ledgerTable}; DLQ ${d.dlqUrl}`)
        : warn(`${d.label}: the running stand-ins predate the local EventBridge rule`, LOCAL_RESTART);
    }
    const data = { status: d.status, account: d.account, region: d.region, missingOutputs: d.missingOutputs, rules: d.rules };
    if (FAILED_STACK.test(d.status ?? '')) return fail(`${d.label} is ${d.status}`, 'see the stack events in the CloudFormation console; fix the cause and deploy again (cdk deploy)', data);
    if (d.missingOutputs.length) {
      return fail(`${d.label} has no output ${d.missingOutputs.join(', ')}: not an auto-redrive stack, or an older version`, 'deploy the current version (cdk deploy), or name the right stack with --stack', data);
    }
    if (!d.rules.length && !d.rulesUnknown) return fail(`${d.label} has no status-change rule (StatusChangeRule)`, 'deploy the stack again (cdk deploy)', data);
    if (!SETTLED_STACK.test(d.status ?? '') || d.status === 'UPDATE_ROLLBACK_COMPLETE') {
      return warn(`${d.label} is ${d.status}`, d.status === 'UPDATE_ROLLBACK_COMPLETE' ? 'the last update was rolled back: see the stack events, fix it and deploy again' : 'wait for the stack operation to finish, then run doctor again', data);
    }
    return ok(`${d.label}: ${d.status}, every output present`, data);
  },
};

/** Whether a rule target is the controller function (any qualifier). */
function targetsController(targetArn: string, d: Deployment): boolean {
  if (d.controllerArn) return targetArn === d.controllerArn;
  if (!d.controllerFunction) return false;
  const [, , service, , , kind, name] = targetArn.split(':');
  return service === 'lambda' && kind === 'function' && name === d.controllerFunction;
}

export const ruleCheck: Check<DoctorEnv> = {
  id: 'rule',
  title: 'rule',
  async run(env) {
    const d = await env.facts.usableDeployment();
    if (d.rulesUnknown) return notChecked(d.rulesUnknown);
    if (!d.rules.length) return notChecked(d.mode === 'local' ? `no local EventBridge stand-in in the state file (${LOCAL_RESTART})` : 'the stack has no status-change rule');
    const problems: string[] = [];
    const found: string[] = [];
    for (const r of d.rules) {
      let rule;
      try {
        rule = await describeRule(env.clients.eventbridge(), r.name, r.bus);
      } catch (e) {
        if (errorLine(e).startsWith('ResourceNotFoundException')) {
          problems.push(`rule ${r.name} (bus ${r.bus}) was deleted`);
          continue;
        }
        throw e;
      }
      if (rule.state !== 'ENABLED') problems.push(`rule ${r.name} is ${rule.state}`);
      if (!rule.targets.some((t) => targetsController(t.arn, d))) {
        problems.push(`rule ${r.name} does not target the controller${rule.targets.length ? ` (targets: ${rule.targets.map((t) => t.arn).join(', ')})` : ' (no targets)'}`);
      }
      found.push(`${r.name} ${rule.state}, ${rule.targets.length} target(s)`);
    }
    const data = { rules: d.rules, controller: d.controllerArn ?? d.controllerFunction ?? null };
    if (problems.length) {
      const fix =
        d.mode === 'local'
          ? `${LOCAL_RESTART} (it recreates the rule and its target)`
          : 'deploy the stack again (cdk deploy) to restore the rule and its target; do not edit the rule by hand';
      return fail(`${problems.join('; ')}: no status change reaches the controller`, fix, data);
    }
    return ok(`${found.join('; ')}: targets the controller`, data);
  },
};

export const lambdaErrorsCheck: Check<DoctorEnv> = {
  id: 'lambda-errors',
  title: 'controller and drain errors (24 h)',
  async run(env) {
    const d = await env.facts.usableDeployment();
    if (d.mode === 'local') return notChecked('not checked locally: the local controller and drain run in the npm run local process (their errors are printed there)');
    const names = [d.controllerFunction, d.drainFunction].filter((n): n is string => !!n);
    if (!names.length) return notChecked('the stack has no ControllerFunctionName / DrainFunctionName output');
    const end = env.now();
    let health;
    try {
      health = await lambdaHealth(env.clients.cloudwatch(), names, end - 24 * HOUR_MS, end);
    } catch (e) {
      if (isAccessDenied(e)) return notChecked(`the caller may not read CloudWatch metrics (${errorLine(e)})`);
      throw e;
    }
    const data = { functions: health };
    const line = health.map((h) => `${h.functionName}: ${h.errors} error(s) in ${h.invocations} invocation(s)`).join('; ');
    const logs = `read the logs (aws logs tail /aws/lambda/${(health.find((h) => h.errors > 0) ?? health[0]).functionName} --since 24h) and docs/runbook.md`;
    if (health.some((h) => h.invocations > 0 && h.errors >= h.invocations)) return fail(`every invocation failed: ${line}`, logs, data);
    if (health.some((h) => h.errors > 0)) return warn(line, logs, data);
    const drain = health.find((h) => h.functionName === d.drainFunction);
    if (drain && drain.invocations === 0) return warn(`${line}: the drain did not run`, 'check the DrainSchedule rule is enabled (deploy the stack again: cdk deploy)', data);
    return ok(line, data);
  },
};

export const dlqCheck: Check<DoctorEnv> = {
  id: 'dlq',
  title: 'dead-letter queue',
  async run(env) {
    const url = await env.facts.dlqUrl();
    if (!url) return notChecked('no dead-letter queue URL (the stack output DeadLetterQueueUrl, --dlq-url or AUTO_REDRIVE_DLQ_URL)');
    const depth = await queueDepth(env.clients.sqs(), url);
    const data = { url, depth };
    if (depth > 0) {
      return warn(`${depth} message(s): status changes the controller could not handle`, 'redrivectl dlq replay --dry-run to see them, then redrivectl dlq replay', data);
    }
    return ok('empty', data);
  },
};

/** The controller's execution role: the stack output (organization mode), else the function's configuration. */
export async function controllerRole(env: DoctorEnv, d: Deployment): Promise<string> {
  if (d.controllerRoleArn) return d.controllerRoleArn;
  if (!d.controllerFunction) throw new Error('the stack has no ControllerFunctionName output');
  return (await functionRole(env.clients.lambda(), d.controllerFunction)).roleArn;
}
