/**
 * Who approves or rejects (recorded as `approvedBy` / `rejectedBy`): against AWS, the
 * caller's identity as AWS knows it (STS GetCallerIdentity: the IAM user or assumed-role
 * session ARN), which a person cannot type differently; `--as <name>` then only adds a
 * name. Against the local stand-ins (`--local`, or an STS endpoint that does not answer
 * while DynamoDB is a stand-in: AWS_ENDPOINT_URL_DYNAMODB) there is no AWS identity: the
 * name is `--as`, else AUTO_REDRIVE_ACTOR, else user@host. Against AWS, an identity STS
 * cannot give is an error: no anonymous approvals.
 */
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { CliContext } from './context';
import { describeError, failed } from './errors';

export type ApproverSource = 'sts' | 'local';

export interface Approver {
  /** What is recorded. */
  readonly by: string;
  /** Where it came from: STS GetCallerIdentity, or a local name (--as, AUTO_REDRIVE_ACTOR, user@host). */
  readonly source: ApproverSource;
}

/** STS answers in well under a second; a stand-in setup without STS should not wait long. */
const STS_TIMEOUTS = { connectionTimeout: 2_000, requestTimeout: 5_000 } as const;

export async function resolveApprover(ctx: CliContext, what: string, as: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<Approver> {
  const name = as?.trim() || undefined;
  const local: Approver = { by: name ?? ctx.actor(), source: 'local' };
  if (ctx.options.local) return local;
  const sts = new STSClient({ maxAttempts: 1, requestHandler: STS_TIMEOUTS });
  try {
    const { Arn } = await sts.send(new GetCallerIdentityCommand({}));
    if (!Arn) throw new Error('GetCallerIdentity returned no ARN');
    return { by: name ? `${Arn} (as ${name})` : Arn, source: 'sts' };
  } catch (e) {
    if (env.AWS_ENDPOINT_URL_DYNAMODB) return local;
    throw failed(`${what}: cannot tell who you are (STS GetCallerIdentity: ${describeError(e).message}); an approval records the caller's identity, so nothing was changed`);
  } finally {
    sts.destroy();
  }
}
