/**
 * The whatIf section: `redrivectl what-if --since 14d` (the command as users run it, a
 * child process) over a seeded history (local/seed-history.ts: 1,000 failures over 20
 * state machines) on the stand-in with AWS's default API quotas, at what-if's default
 * rates. Its time is set by the pacing (DescribeExecution at 6/s), not by this machine.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { LOCAL_TABLES, startLocal } from '../local/environment';
import { seedHistory, ShiftableClock } from '../local/seed-history';
import { AWS_DEFAULT_THROTTLES } from '../local/sfn';

export interface WhatIfResult {
  /** Failures in the window, as what-if counted them. */
  readonly failures: number;
  /** Wall time of the command. */
  readonly seconds: number;
  readonly listCalls: number;
  readonly describeCalls: number;
  readonly stateMachines: number;
  readonly wouldRedrive: number;
  /** ThrottlingExceptions the command met (retried). */
  readonly throttled: number;
  /** The command line (rates: what-if's defaults unless given). */
  readonly command: string;
}

export interface WhatIfOptions {
  readonly failures?: number;
  readonly stateMachines?: number;
  /** Extra arguments, e.g. faster rates for a test. */
  readonly args?: readonly string[];
  readonly progress?: (line: string) => void;
}

interface Report {
  calls: Record<string, number>;
  throttles: Record<string, number>;
  totals: { stateMachines: number; failures: number; wouldRedrive: number };
}

export async function runWhatIf(options: WhatIfOptions = {}): Promise<WhatIfResult> {
  const clock = new ShiftableClock();
  const local = await startLocal({ detachBus: true, standIn: { clock: clock.now, throttle: AWS_DEFAULT_THROTTLES } });
  try {
    const history = await seedHistory({ sfn: local.sfn, standIn: local.standIn, clock, failures: options.failures, stateMachines: options.stateMachines });
    await local.putPolicy({ stateMachine: '*', maxRedrives: 2 });
    options.progress?.(`whatIf: seeded ${history.inWindow} failures over ${history.stateMachineArns.length} state machines; running what-if`);
    const args = ['what-if', '--since', '14d', '--restart', ...(options.args ?? []), '-o', 'json'];
    const started = Date.now();
    const { code, stdout, stderr } = await runCommand(args, {
      ...process.env,
      AWS_ENDPOINT_URL_SFN: local.endpoints.sfn,
      AWS_ENDPOINT_URL_DYNAMODB: local.endpoints.dynamodb,
      AUTO_REDRIVE_POLICY_TABLE: LOCAL_TABLES.policy,
      AUTO_REDRIVE_LEDGER_TABLE: LOCAL_TABLES.ledger,
    });
    const seconds = (Date.now() - started) / 1000;
    if (code !== 0) throw new Error(`whatIf: redrivectl ${args.join(' ')} exited ${code}: ${stderr}`);
    const report = JSON.parse(stdout) as Report;
    return {
      failures: report.totals.failures,
      seconds: Math.round(seconds * 10) / 10,
      listCalls: report.calls.ListExecutions,
      describeCalls: report.calls.DescribeExecution,
      stateMachines: report.totals.stateMachines,
      wouldRedrive: report.totals.wouldRedrive,
      throttled: Object.values(report.throttles).reduce((a, b) => a + b, 0),
      command: `redrivectl ${args.join(' ')}`,
    };
  } finally {
    await local.stop();
  }
}

function runCommand(args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(__dirname, '..', 'cli', 'redrivectl.cjs'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
