/**
 * redrivectl: operate auto-redrive (policies, decisions, backfill, kill switch, DLQ).
 * The program and its global options; one module per command group in ./commands.
 */
import { Command, CommanderError, Option } from 'commander';
import { backfillCommand } from './commands/backfill';
import { dlqCommand } from './commands/dlq';
import { doctorCommand } from './commands/doctor';
import { explainCommand } from './commands/explain';
import { pauseCommands } from './commands/pause';
import { policyCommand } from './commands/policy';
import { releaseCommand } from './commands/release';
import { approveCommands } from './commands/approve';
import { simulateCommand } from './commands/simulate';
import { whatIfCommand } from './commands/what-if';
import { ENV_VARS } from './context';
import { EXIT, reportError } from './errors';
import { OUTPUT_FORMATS } from './output';

export function buildProgram(): Command {
  const program = new Command('redrivectl')
    .description('Operate auto-redrive: redrive policies, decisions, backfills, held failures, the kill switch and the dead-letter queue.')
    .addOption(new Option('-o, --output <format>', 'output format').choices([...OUTPUT_FORMATS]).default('table'))
    .option('--region <region>', 'AWS Region (default: the standard chain: AWS_REGION, the profile)')
    .option('--profile <name>', 'AWS named profile (credentials and Region, as the AWS CLI)')
    .option('--local', 'use the local stand-ins started by `npm run local` (endpoints, tables, DLQ)')
    .option('--stack <name>', `the deployed AutoRedriveStack: tables and DLQ from its outputs (default: $${ENV_VARS.stack})`)
    .option('--policy-table <name>', `policy table (default: $${ENV_VARS.policyTable})`)
    .option('--ledger-table <name>', `ledger table (default: $${ENV_VARS.ledgerTable})`)
    .option('--dlq-url <url>', `dead-letter queue URL (default: $${ENV_VARS.dlqUrl})`)
    .option('-v, --verbose', "show the controller's warnings on stderr")
    .addHelpText(
      'after',
      `
Tables and queue: the AutoRedrive stack generates their names; --stack AutoRedrive (or
${ENV_VARS.stack}=AutoRedrive) reads them from its outputs PolicyTableName,
LedgerTableName and DeadLetterQueueUrl; --policy-table etc. override.
Endpoints follow the AWS SDK: AWS_ENDPOINT_URL_SFN, AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_SQS.

Exit status: 0 ok, 1 failed or problems found, 2 bad input or usage, 130 interrupted.

Examples:
  redrivectl policy list
  redrivectl explain arn:aws:states:us-east-1:123456789012:execution:orders:run-42
  redrivectl simulate --event event.json --policy policy.json -o json
  redrivectl what-if --since 14d --policies proposed.json
  redrivectl backfill --state-machine 'arn:aws:states:us-east-1:123456789012:stateMachine:orders-*' --since 6h --dry-run
  redrivectl pause --reason "downstream outage"
  redrivectl status
  redrivectl release --state-machine arn:aws:states:us-east-1:123456789012:stateMachine:orders
  redrivectl --local dlq replay --dry-run
  redrivectl --stack AutoRedrive doctor`,
    );

  program.addCommand(policyCommand());
  program.addCommand(explainCommand());
  program.addCommand(simulateCommand());
  program.addCommand(whatIfCommand());
  program.addCommand(backfillCommand());
  program.addCommand(releaseCommand());
  for (const c of approveCommands()) program.addCommand(c);
  for (const c of pauseCommands()) program.addCommand(c);
  program.addCommand(dlqCommand());
  program.addCommand(doctorCommand());
  return program;
}

/** Every command and subcommand: errors as one `redrivectl: ...` line, exit 2, no process.exit. */
function configure(command: Command): void {
  command.exitOverride();
  command.configureOutput({
    // One line, e.g. "redrivectl: unknown command 'polcy' (Did you mean policy?)".
    outputError: (str, write) => write(`redrivectl: ${str.replace(/^error: /, '').trim().replace(/\s*\n\s*/g, ' ')}\n`),
  });
  for (const sub of command.commands) configure(sub);
}

/** Runs redrivectl with `argv` (process.argv form) and returns the exit code. */
export async function run(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  configure(program);
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return EXIT.ok;
      // Commander has printed its message already (through outputError).
      return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    return reportError(e);
  }
}
