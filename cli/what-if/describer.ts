/**
 * DescribeExecution for each listed failure (error, redriveStatus, redriveCount, stopDate:
 * what ListExecutions does not carry), through the controller's gateway on the paced
 * client; an execution described by an interrupted run is taken from the checkpoint
 * instead of being described again.
 */
import type { SFNClient } from '@aws-sdk/client-sfn';
import { type DescribedExecution, SdkStepFunctions } from '../../lambda/act/step-functions';
import type { Checkpoint } from './checkpoint';

export class Describer {
  private readonly gateway: SdkStepFunctions;
  /** Executions taken from the checkpoint rather than described. */
  reused = 0;

  constructor(
    client: SFNClient,
    private readonly checkpoint: Checkpoint,
  ) {
    this.gateway = new SdkStepFunctions(client);
  }

  /** undefined: the execution no longer exists (its history expired after 90 days). */
  async describe(executionArn: string): Promise<DescribedExecution | undefined> {
    const known = this.checkpoint.described(executionArn);
    if (known) {
      this.reused++;
      return known;
    }
    const d = await this.gateway.describe(executionArn);
    // The cause can be long and may quote data: the checkpoint keeps what decide() needs.
    if (d) this.checkpoint.addDescribed({ ...d, cause: null });
    return d;
  }
}
