/** The local SQS stand-in, through the real @aws-sdk/client-sqs (AWS JSON 1.0, MD5 checks on). */
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { SqsStandIn } from '../../local/sqs';

let now = Date.UTC(2024, 0, 1);
const standIn = new SqsStandIn({ clock: () => now });
let sqs: SQSClient;
let url: string;

beforeAll(async () => {
  const endpoint = await standIn.listen(0);
  sqs = new SQSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, maxAttempts: 1 });
  url = (await sqs.send(new CreateQueueCommand({ QueueName: 'dlq' }))).QueueUrl!;
});
afterAll(async () => {
  sqs.destroy();
  await standIn.close();
});

const counts = async () => {
  const a = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }))).Attributes ?? {};
  return { visible: Number(a.ApproximateNumberOfMessages), inFlight: Number(a.ApproximateNumberOfMessagesNotVisible) };
};

test('the SDK speaks AWS JSON 1.0 to it: X-Amz-Target AmazonSQS.<Operation>', async () => {
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/123456789012\/dlq$/);
  expect((await sqs.send(new GetQueueUrlCommand({ QueueName: 'dlq' }))).QueueUrl).toBe(url);
  expect(standIn.calls.map((c) => c.op)).toEqual(['CreateQueue', 'GetQueueUrl']);
  const err = await sqs.send(new GetQueueUrlCommand({ QueueName: 'nope' })).catch((e: Error) => e);
  expect(err).toMatchObject({ name: 'QueueDoesNotExist' });
});

test('send, receive (max, visibility timeout), reappear, change visibility, delete, counts', async () => {
  for (const body of ['one', 'two', 'three']) {
    const out = await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body }));
    expect(out.MessageId).toBeDefined(); // the SDK has checked MD5OfMessageBody
  }
  expect(await counts()).toEqual({ visible: 3, inFlight: 0 });

  const first = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 2, VisibilityTimeout: 30 }));
  expect(first.Messages?.map((m) => m.Body)).toEqual(['one', 'two']); // the SDK has checked MD5OfBody
  expect(await counts()).toEqual({ visible: 1, inFlight: 2 });

  now += 31_000; // visibility timeout over: both come back
  const again = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }));
  expect(again.Messages?.map((m) => m.Body)).toEqual(['one', 'two', 'three']);
  expect(again.Messages?.[0].Attributes?.ApproximateReceiveCount).toBe('2');

  const [one, two, three] = again.Messages!;
  await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: one.ReceiptHandle }));
  await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: two.ReceiptHandle, VisibilityTimeout: 0 }));
  expect(await counts()).toEqual({ visible: 1, inFlight: 1 });
  const empty = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 60, WaitTimeSeconds: 1 }));
  expect(empty.Messages?.map((m) => m.Body)).toEqual(['two']);
  await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: two.ReceiptHandle })); // any handle of the message works
  await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: three.ReceiptHandle }));
  expect(await counts()).toEqual({ visible: 0, inFlight: 0 });
  expect((await sqs.send(new ReceiveMessageCommand({ QueueUrl: url }))).Messages).toBeUndefined();
});

test('validation errors as SQS names them', async () => {
  const tooMany = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 11 })).catch((e: Error) => e);
  expect(tooMany).toMatchObject({ name: 'InvalidParameterValue' });
  const badHandle = await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: 'garbage' })).catch((e: Error) => e);
  expect(badHandle).toMatchObject({ name: 'ReceiptHandleIsInvalid' });
  const noQueue = await sqs
    .send(new SendMessageCommand({ QueueUrl: url.replace(/dlq$/, 'other'), MessageBody: 'x' }))
    .catch((e: Error) => e);
  expect(noQueue).toMatchObject({ name: 'QueueDoesNotExist' });
});
