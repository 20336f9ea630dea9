/**
 * SQS errors as the AWS JSON 1.0 protocol carries them for SQS: `__type` with the
 * Smithy shape id, plus the `x-amzn-query-error` header SQS sends for clients of the
 * older query protocol (`awsQueryCompatible` in @aws-sdk/client-sqs reads it).
 */
export class SqsError extends Error {
  constructor(
    readonly code: string,
    readonly queryCode: string,
    message: string,
    readonly httpStatus = 400,
    readonly fault: 'Sender' | 'Receiver' = 'Sender',
  ) {
    super(message);
    this.name = code;
  }

  toBody(): object {
    return { __type: `com.amazonaws.sqs#${this.code}`, message: this.message };
  }

  headers(): Record<string, string> {
    return { 'x-amzn-query-error': `${this.queryCode};${this.fault}` };
  }
}

export const queueDoesNotExist = () =>
  new SqsError('QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue', 'The specified queue does not exist.');
export const invalidParameter = (message: string) => new SqsError('InvalidParameterValue', 'InvalidParameterValue', message);
export const missingParameter = (name: string) =>
  new SqsError('MissingParameter', 'MissingParameter', `The request must contain the parameter ${name}.`);
export const receiptHandleIsInvalid = (handle: string) =>
  new SqsError('ReceiptHandleIsInvalid', 'ReceiptHandleIsInvalid', `The input receipt handle "${handle}" is not a valid receipt handle.`);
export const messageNotInflight = () => new SqsError('MessageNotInflight', 'AWS.SimpleQueueService.MessageNotInflight', 'Message is not in flight.');
export const unknownOperation = (target: string) =>
  new SqsError('UnsupportedOperation', 'AWS.SimpleQueueService.UnsupportedOperation', `The local SQS stand-in does not support ${target || '(no X-Amz-Target)'}.`);
export const serialization = (message: string) => new SqsError('InvalidParameterValue', 'InvalidParameterValue', message);
export const internalError = (message: string) => new SqsError('InternalError', 'InternalError', message, 500, 'Receiver');
