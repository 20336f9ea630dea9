/**
 * Errors the user can act on, and the one place that turns any error into output:
 * `redrivectl: <what>: <where/why>` on stderr, one line per problem, no stack trace.
 *
 * Exit codes (as documented in `redrivectl --help`):
 *   0 success, 1 the operation failed or found problems (validate, declined, not found),
 *   2 bad input or usage, 130 interrupted (Ctrl-C).
 */

export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

export class CliError extends Error {
  /** Extra lines (e.g. one per invalid field), each printed with the `redrivectl: ` prefix. */
  readonly more: readonly string[];

  constructor(
    message: string,
    readonly exitCode: number = EXIT.usage,
    more: readonly string[] = [],
  ) {
    super(message);
    this.name = 'CliError';
    this.more = more;
  }
}

/** Bad input (exit 2). */
export const usage = (message: string, more: readonly string[] = []) => new CliError(message, EXIT.usage, more);
/** The operation failed or found problems (exit 1). */
export const failed = (message: string, more: readonly string[] = []) => new CliError(message, EXIT.failed, more);

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

interface AwsLikeError {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
  hostname?: string;
  address?: string;
  port?: number;
}

/** A readable line for errors that are not CliErrors: AWS SDK errors, network errors, bugs. */
export function describeError(e: unknown): { message: string; exitCode: number } {
  if (e instanceof CliError) return { message: e.message, exitCode: e.exitCode };
  const err = (e ?? {}) as AwsLikeError;
  const name = err.name ?? 'Error';
  const message = oneLine(String(err.message ?? e));
  if (err.code === 'ECONNREFUSED' || /ECONNREFUSED/.test(message)) {
    const where = err.address && err.port ? ` ${err.address}:${err.port}` : '';
    return { message: `cannot connect to the endpoint${where} (connection refused; for --local, is \`npm run local\` still running?)`, exitCode: EXIT.failed };
  }
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    return { message: `no AWS credentials: ${message} (use --profile, or the standard AWS_* environment variables)`, exitCode: EXIT.failed };
  }
  if (/Region is missing/i.test(message)) {
    return { message: 'no AWS Region: pass --region or set AWS_REGION', exitCode: EXIT.usage };
  }
  if (name === 'ResourceNotFoundException') {
    return { message: `DynamoDB: ${message} (check --policy-table / --ledger-table)`, exitCode: EXIT.failed };
  }
  if (name === 'QueueDoesNotExist' || name === 'AWS.SimpleQueueService.NonExistentQueue') {
    return { message: `SQS: ${message} (check --dlq-url)`, exitCode: EXIT.failed };
  }
  if (name === 'AccessDeniedException' || name === 'AccessDenied' || name === 'UnrecognizedClientException') {
    return { message: `${name}: ${message}`, exitCode: EXIT.failed };
  }
  return { message: `${name}: ${message}`, exitCode: EXIT.failed };
}

/** Prints the error the documented way and returns the exit code. */
export function reportError(e: unknown, write: (line: string) => void = (l) => process.stderr.write(l)): number {
  const { message, exitCode } = describeError(e);
  write(`redrivectl: ${oneLine(message)}\n`);
  if (e instanceof CliError) for (const line of e.more) write(`redrivectl: ${oneLine(line)}\n`);
  if (process.env.REDRIVECTL_DEBUG && e instanceof Error && !(e instanceof CliError)) write(`${e.stack}\n`);
  return exitCode;
}
