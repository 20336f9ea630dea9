/**
 * `redrivectl doctor`: is auto-redrive working in this account? Read-only checks of a
 * deployed stack (or, with --local, of the stand-ins `npm run local` started), one line
 * each: ok / warn / fail with the fix / not checked with the reason. Exit 1 on any fail.
 * The checks live in ../doctor (docs/cli.md "doctor" lists them).
 */
import { Command } from 'commander';
import { CliContext, type GlobalOptions } from '../context';
import { EXIT, failed, usage } from '../errors';
import { canaryCheck, rateQuotaCheck, redrivePermissionCheck } from '../doctor/checks-capacity';
import { dlqCheck, lambdaErrorsCheck, ruleCheck, stackCheck } from '../doctor/checks-deployment';
import { killSwitchCheck, policiesCheck, policyTargetsCheck, uncoveredFailuresCheck } from '../doctor/checks-policies';
import { type Check } from '../doctor/check';
import { DOCTOR_DEFAULTS, type DoctorEnv, doctorEnv } from '../doctor/env';
import { doctorDocument, doctorText, exitCode, summarize } from '../doctor/render';
import { runChecks } from '../doctor/runner';

/** Every check, in the order they are shown. */
export const DOCTOR_CHECKS: ReadonlyArray<Check<DoctorEnv>> = [
  stackCheck,
  ruleCheck,
  lambdaErrorsCheck,
  dlqCheck,
  killSwitchCheck,
  policiesCheck,
  policyTargetsCheck,
  uncoveredFailuresCheck,
  canaryCheck,
  redrivePermissionCheck,
  rateQuotaCheck,
];

interface DoctorFlags {
  canaryInterval?: string;
}

/** A table or queue the flags or variables name; undefined when only the stack can tell. */
function given<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

async function doctor(ctx: CliContext, flags: DoctorFlags): Promise<void> {
  const interval = Number(flags.canaryInterval ?? DOCTOR_DEFAULTS.canaryIntervalMinutes);
  if (!Number.isFinite(interval) || interval <= 0) throw usage(`doctor: --canary-interval '${flags.canaryInterval}' must be a number of minutes above 0`);
  const env = doctorEnv({
    target: {
      stackName: ctx.stack,
      local: ctx.localState,
      tables: { policy: given(() => ctx.policyTable), ledger: given(() => ctx.ledgerTable) },
      dlqUrl: ctx.dlqUrl,
    },
    options: { canaryIntervalMinutes: interval },
  });
  try {
    const target = ctx.localState ? 'local stand-ins (npm run local)' : ctx.stack ? `stack ${ctx.stack}` : 'no stack named';
    const reports = await runChecks(DOCTOR_CHECKS, env);
    ctx.out.emit(doctorDocument(target, reports), () => doctorText(target, reports));
    const failing = reports.filter((r) => r.status === 'fail');
    if (exitCode(reports) !== EXIT.ok) throw failed(`doctor: ${summarize(reports).fail} check(s) failed: ${failing.map((r) => r.id).join(', ')}`);
  } finally {
    env.clients.destroy();
  }
}

export function doctorCommand(): Command {
  return new Command('doctor')
    .description('check that auto-redrive works here (read-only): stack, rule, errors, DLQ, kill switch, policies, uncovered failures, canary, permissions, quota')
    .option('--canary-interval <minutes>', `the stack's canary interval (default ${DOCTOR_DEFAULTS.canaryIntervalMinutes})`)
    .addHelpText(
      'after',
      `
One line per check: ok, WARN or FAIL (with the fix), or "not checked" (with the reason).
Exit status 1 when any check fails. docs/cli.md lists the checks.

Examples:
  redrivectl --stack AutoRedrive doctor
  redrivectl --stack AutoRedrive doctor -o json
  redrivectl --local doctor`,
    )
    .action(async (flags: DoctorFlags, command: Command) => {
      // No withContext: a stack that cannot be read is a check's finding, not an error.
      const ctx = new CliContext(command.optsWithGlobals() as GlobalOptions);
      try {
        await doctor(ctx, flags);
      } finally {
        ctx.close();
      }
    });
}
