import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GENERIC_ERROR_NAMES, namesOneDependency } from '../../../contract/error-names';

describe('namesOneDependency: which error names bring a sibling group\'s probe forward', () => {
  it.each([...GENERIC_ERROR_NAMES, 'States.TaskFailed', 'States.Timeout', 'States.Permissions', 'States.HeartbeatTimeout'])('%s is too generic', (name) => {
    expect(namesOneDependency(name)).toBe(false);
  });

  it('the list has the names issue 18 found making unrelated state machines probe on each other\'s recoveries', () => {
    expect(GENERIC_ERROR_NAMES).toEqual(expect.arrayContaining(['Error', 'Exception', 'Lambda.Unknown']));
  });

  it.each(['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.ClientExecutionTimeoutException', 'PaymentsApi.Unavailable', 'DynamoDB.ProvisionedThroughputExceededException'])(
    '%s names one dependency',
    (name) => {
      expect(namesOneDependency(name)).toBe(true);
    },
  );

  it('no error name (an ABORTED execution) or an empty one names nothing', () => {
    expect(namesOneDependency(null)).toBe(false);
    expect(namesOneDependency('')).toBe(false);
  });

  it('matches names exactly: a specific name that merely contains a generic one is specific', () => {
    expect(namesOneDependency('OrdersError')).toBe(true);
    expect(namesOneDependency('error')).toBe(true);
    expect(namesOneDependency('Lambda.UnknownFunction')).toBe(true);
  });

  it('the docs table lists every generic name', () => {
    const doc = readFileSync(join(__dirname, '../../../docs/breaker.md'), 'utf8');
    for (const name of GENERIC_ERROR_NAMES) expect(doc).toContain(`\`${name}\``);
  });
});
