/** Local SQS stand-in: an AWS JSON 1.0 server the real @aws-sdk/client-sqs can talk to. */
export { SqsStandIn, type SqsCall, type SqsStandInOptions } from './server';
export { LocalQueue, type StoredMessage } from './queue';
export { SqsError } from './errors';
