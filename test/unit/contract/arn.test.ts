import { ARN_PATTERNS, InvalidArnError, isExecutionArn, isStateMachineArn, parseExecutionArn, stateMachineArnOf } from '../../../contract/arn';
import { EXECUTION_ARN, STATE_MACHINE_ARN } from '../helpers';

describe('execution ARNs', () => {
  it('parses the real execution ARN', () => {
    expect(parseExecutionArn(EXECUTION_ARN)).toEqual({
      partition: 'aws',
      region: 'us-east-1',
      account: '123456789012',
      stateMachineName: 'MyStateMachine-gddoyum7f',
      mapRunLabel: undefined,
      executionId: '0e3a7824-7ec2-4ced-9aef-61f71fbef1b5',
    });
    expect(stateMachineArnOf(EXECUTION_ARN)).toBe(STATE_MACHINE_ARN);
  });

  it('parses a Distributed Map child and maps it to the parent state machine', () => {
    const arn = 'arn:aws:states:eu-west-1:111122223333:execution:Parent/MapLabel:child-0001';
    expect(parseExecutionArn(arn)).toMatchObject({ stateMachineName: 'Parent', mapRunLabel: 'MapLabel', executionId: 'child-0001', region: 'eu-west-1' });
    expect(stateMachineArnOf(arn)).toBe('arn:aws:states:eu-west-1:111122223333:stateMachine:Parent');
  });

  it.each(['aws', 'aws-cn', 'aws-us-gov', 'aws-iso-b'])('accepts partition %s', (p) => {
    const arn = `arn:${p}:states:us-gov-west-1:123456789012:execution:SM:e`;
    expect(isExecutionArn(arn)).toBe(true);
    expect(parseExecutionArn(arn).partition).toBe(p);
  });

  it.each([
    ['empty', ''],
    ['garbage', 'not-an-arn'],
    ['state machine ARN', STATE_MACHINE_ARN],
    ['express ARN', 'arn:aws:states:us-east-1:123456789012:express:SM:e:x'],
    ['map run ARN', 'arn:aws:states:us-east-1:123456789012:mapRun:SM/label:id'],
    ['other service', 'arn:aws:lambda:us-east-1:123456789012:execution:SM:e'],
    ['bad partition', 'arn:azure:states:us-east-1:123456789012:execution:SM:e'],
    ['short account', 'arn:aws:states:us-east-1:12345678901:execution:SM:e'],
    ['bad region', 'arn:aws:states:useast1:123456789012:execution:SM:e'],
    ['missing execution id', 'arn:aws:states:us-east-1:123456789012:execution:SM'],
    ['empty execution id', 'arn:aws:states:us-east-1:123456789012:execution:SM:'],
    ['extra segment', `${EXECUTION_ARN}:extra`],
    ['whitespace', `${EXECUTION_ARN} `],
    ['leading whitespace', ` ${EXECUTION_ARN}`],
    ['newline inside', EXECUTION_ARN.replace('MyStateMachine', 'My\nStateMachine')],
    ['name over 80 chars', `arn:aws:states:us-east-1:123456789012:execution:${'n'.repeat(81)}:e`],
    ['id over 80 chars', `arn:aws:states:us-east-1:123456789012:execution:SM:${'e'.repeat(81)}`],
  ])('rejects %s', (_label, arn) => {
    expect(isExecutionArn(arn)).toBe(false);
    expect(() => parseExecutionArn(arn)).toThrow(InvalidArnError);
    expect(() => stateMachineArnOf(arn)).toThrow(InvalidArnError);
  });

  it('accepts names of exactly 80 characters', () => {
    expect(isExecutionArn(`arn:aws:states:us-east-1:123456789012:execution:${'n'.repeat(80)}:${'e'.repeat(80)}`)).toBe(true);
  });

  it('InvalidArnError truncates a huge ARN and says what was expected', () => {
    const err = (() => {
      try {
        parseExecutionArn('x'.repeat(10_000));
      } catch (e) {
        return e as InvalidArnError;
      }
      throw new Error('did not throw');
    })();
    expect(err.name).toBe('InvalidArnError');
    expect(err.expected).toBe('execution');
    expect(err.message.length).toBeLessThan(400);
    expect(err.message).toContain('execution');
  });
});

describe('state machine ARNs', () => {
  it('accepts the real state machine ARN', () => {
    expect(isStateMachineArn(STATE_MACHINE_ARN)).toBe(true);
    expect(ARN_PATTERNS.stateMachine.test(STATE_MACHINE_ARN)).toBe(true);
  });
  it.each([
    ['execution ARN', EXECUTION_ARN],
    ['version ARN', `${STATE_MACHINE_ARN}:3`],
    ['alias ARN', `${STATE_MACHINE_ARN}:prod`],
    ['pattern', 'arn:aws:states:us-east-1:123456789012:stateMachine:*'.replace('*', '')],
    ['empty', ''],
  ])('rejects %s', (_label, arn) => {
    expect(isStateMachineArn(arn)).toBe(false);
  });
});
