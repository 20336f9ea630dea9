/**
 * Confirmation before a change, as kubectl delete / terraform apply do: a y/N prompt on
 * a terminal; `--yes` skips it; with no terminal and no --yes the change is refused, so
 * a script never changes anything by accident.
 */
import * as readline from 'node:readline';
import { CliError, EXIT, failed, usage } from './errors';

/** Throws unless a confirmation can be had: --yes, or a terminal to ask on. */
export function assertConfirmable(what: string, yes: boolean | undefined): void {
  if (yes || process.stdin.isTTY) return;
  throw usage(`${what}: refusing to change anything without confirmation: stdin is not a terminal (pass --yes to proceed)`);
}

export async function confirm(what: string, question: string, yes: boolean | undefined): Promise<void> {
  if (yes) return;
  assertConfirmable(what, yes);
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  let interrupted = false;
  const answer = await new Promise<string>((resolve) => {
    rl.question(`${question} [y/N] `, resolve);
    rl.once('SIGINT', () => {
      interrupted = true;
      process.stderr.write('\n');
      rl.close();
    });
    rl.once('close', () => resolve(''));
  });
  rl.close();
  if (interrupted) throw new CliError(`${what}: interrupted; nothing was changed`, EXIT.interrupted);
  if (!/^y(es)?$/i.test(answer.trim())) throw failed(`${what}: cancelled; nothing was changed`);
}
