/** A failed condition is an answer (someone else got there first); every other error is thrown. */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { ifConditionHolds, isConditionFailure } from '../../../lambda/record/conditional-write';

const conditionFailed = () => new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
/** The same error as another copy of the SDK would throw it: instanceof fails, the name does not. */
const conditionFailedByName = () => Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException' });

describe('isConditionFailure', () => {
  it.each<[string, unknown, boolean]>([
    ['the SDK exception', conditionFailed(), true],
    ['an error of that name from another SDK copy', conditionFailedByName(), true],
    ['a throttling error', Object.assign(new Error('slow down'), { name: 'ProvisionedThroughputExceededException' }), false],
    ['a plain Error', new Error('x'), false],
    ['a string', 'ConditionalCheckFailedException', false],
    ['null', null, false],
    ['undefined', undefined, false],
  ])('%s -> %s', (_what, error, expected) => {
    expect(isConditionFailure(error)).toBe(expected);
  });
});

describe('ifConditionHolds', () => {
  it('passes the output of a write that was applied', async () => {
    await expect(ifConditionHolds(Promise.resolve({ Attributes: { attempts: 2 } }))).resolves.toEqual({ Attributes: { attempts: 2 } });
  });

  it.each([
    ['the SDK exception', conditionFailed],
    ['the exception by name', conditionFailedByName],
  ])('undefined when the condition did not hold (%s)', async (_what, error) => {
    await expect(ifConditionHolds(Promise.reject(error()))).resolves.toBeUndefined();
  });

  it('throws every other error', async () => {
    const down = Object.assign(new Error('service unavailable'), { name: 'InternalServerError' });
    await expect(ifConditionHolds(Promise.reject(down))).rejects.toBe(down);
  });
});
