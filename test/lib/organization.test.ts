/**
 * Organization mode: the central side (AutoRedrive's `organization` prop: central bus,
 * its rule, ORG_ENV variables, sts:AssumeRole) and the member side (AutoRedriveMember:
 * forwarding rule, member role), their validation, the context-driven stacks, and
 * cdk-nag on both. Asset bundling is skipped.
 */
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { DEFAULT_MEMBER_ROLE_NAME, ENV, ORG_ENV } from '../../contract/environment';
import { loadOrganization } from '../../lambda/config';
import type { AutoRedriveOrganization, AutoRedriveProps } from '../../lib/auto-redrive';
import { AutoRedriveMember, AutoRedriveMemberProps, MEMBER_ROLE_ACTIONS } from '../../lib/auto-redrive-member';
import { AutoRedriveMemberStack, CONTEXT } from '../../lib/auto-redrive-stack';
import { statusChangePattern } from '../../contract/event-pattern';
import { ACCOUNT, REGION, Statement, acknowledgments, annotationProblems, flatten, functionStatements, list, logicalIdOf, nagFindings, newApp, newAutoRedrive, newAutoRedriveStack, newStack, removeOutdirs, resourcesFor, synthAutoRedrive } from './helpers';

afterAll(removeOutdirs);

const MEMBER_A = '111111111111';
const MEMBER_B = '222222222222';
const ORG_ID = 'o-abcdef1234';
const EXTERNAL_ID = 'auto-redrive-7Kq2x9';
const CENTRAL_BUS = `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/AutoRedriveCentral`;
const CONTROLLER_ROLE = `arn:aws:iam::${ACCOUNT}:role/AutoRedrive-AutoRedriveControllerRole-ABC123`;
const DRAIN_ROLE = `arn:aws:iam::${ACCOUNT}:role/AutoRedrive-AutoRedriveDrainRole-DEF456`;
const ORDERS = `arn:aws:states:${REGION}:${MEMBER_A}:stateMachine:orders`;

const ORGANIZATION: AutoRedriveOrganization = {
  memberAccounts: [MEMBER_A, MEMBER_B],
  organizationId: ORG_ID,
  externalId: EXTERNAL_ID,
};

// ---- Central side ----------------------------------------------------------------------

function central(props: AutoRedriveProps = { organization: ORGANIZATION }) {
  return synthAutoRedrive(props, { id: 'Central' });
}

function busPolicyStatement(t: ReturnType<typeof central>) {
  const policies = Object.values(t.template.findResources('AWS::Events::EventBusPolicy'));
  expect(policies).toHaveLength(1);
  expect(policies[0].Properties.EventBusName).toEqual({ Ref: logicalIdOf(t.stack, t.ar.centralEventBus!) });
  return policies[0].Properties.Statement;
}

describe('central: AutoRedrive with organization', () => {
  test('a custom bus named AutoRedriveCentral; PutEvents only from the member accounts, in the organization', () => {
    const t = central();
    t.template.hasResourceProperties('AWS::Events::EventBus', { Name: 'AutoRedriveCentral' });
    const statement = busPolicyStatement(t);
    expect(statement.Effect).toBe('Allow');
    expect(statement.Action).toBe('events:PutEvents');
    expect(list(statement.Principal.AWS).map(flatten)).toEqual([
      `arn:<AWS::Partition>:iam::${MEMBER_A}:root`,
      `arn:<AWS::Partition>:iam::${MEMBER_B}:root`,
    ]);
    expect(statement.Resource).toEqual({ 'Fn::GetAtt': [logicalIdOf(t.stack, t.ar.centralEventBus!), 'Arn'] });
    expect(statement.Condition).toEqual({ StringEquals: { 'aws:PrincipalOrgID': ORG_ID } });
  });

  test('without organizationId the account list alone admits senders; the bus name can be set', () => {
    const t = central({ organization: { memberAccounts: [MEMBER_A], externalId: EXTERNAL_ID, eventBusName: 'redrive-central' } });
    t.template.hasResourceProperties('AWS::Events::EventBus', { Name: 'redrive-central' });
    const statement = busPolicyStatement(t);
    expect(flatten(statement.Principal.AWS)).toBe(`arn:<AWS::Partition>:iam::${MEMBER_A}:root`);
    expect(statement.Condition).toBeUndefined();
  });

  test('the central rule has exactly statusChangePattern() and the default-bus rule\'s target settings', () => {
    const t = central({ statuses: ['FAILED', 'ABORTED'], organization: ORGANIZATION });
    const centralRule = t.resources[logicalIdOf(t.stack, t.ar.centralRule!)].Properties;
    const defaultRule = t.resources[logicalIdOf(t.stack, t.ar.rule)].Properties;
    expect(centralRule.EventBusName).toEqual({ Ref: logicalIdOf(t.stack, t.ar.centralEventBus!) });
    expect(defaultRule.EventBusName).toBeUndefined(); // the home account keeps its default-bus rule
    expect(centralRule.EventPattern).toEqual(statusChangePattern({ statuses: ['FAILED', 'ABORTED'] }));
    expect(centralRule.Targets).toEqual(defaultRule.Targets);
    expect(centralRule.Targets[0]).toMatchObject({
      Arn: { 'Fn::GetAtt': [t.controllerId, 'Arn'] },
      RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 },
      DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalIdOf(t.stack, t.ar.deadLetterQueue), 'Arn'] } },
    });
  });

  test('ORG_ENV on both functions, and loadOrganization() reads them back', () => {
    const t = central({ organization: { ...ORGANIZATION, servedRegions: [REGION, 'us-east-1'], memberRoleName: 'RedriveMember' } });
    for (const id of [t.controllerId, t.drainId]) {
      const env = t.env(id);
      expect(env).toMatchObject({
        [ORG_ENV.homeAccount]: { Ref: 'AWS::AccountId' },
        [ORG_ENV.memberAccounts]: `${MEMBER_A},${MEMBER_B}`,
        [ORG_ENV.memberRoleName]: 'RedriveMember',
        [ORG_ENV.memberExternalId]: EXTERNAL_ID,
        [ORG_ENV.servedRegions]: `${REGION},us-east-1`,
      });
      const resolved = Object.fromEntries(
        Object.entries(env).map(([k, v]) => [k, k === ORG_ENV.homeAccount ? ACCOUNT : String(v)]),
      );
      expect(loadOrganization(resolved)).toEqual({
        homeAccount: ACCOUNT,
        memberAccounts: [MEMBER_A, MEMBER_B],
        memberRoleName: 'RedriveMember',
        memberExternalId: EXTERNAL_ID,
        servedRegions: [REGION, 'us-east-1'],
      });
    }
  });

  test('defaults: the member role name is DEFAULT_MEMBER_ROLE_NAME and the served Region is the stack\'s', () => {
    const t = central();
    expect(t.env(t.controllerId)).toMatchObject({
      [ORG_ENV.memberRoleName]: DEFAULT_MEMBER_ROLE_NAME,
      [ORG_ENV.servedRegions]: REGION,
    });
  });

  test('sts:AssumeRole on exactly the member roles, for both functions; nothing else is added', () => {
    const t = central();
    for (const id of [t.controllerId, t.drainId]) {
      const st = functionStatements(t.template, id);
      expect(resourcesFor(st, 'sts:AssumeRole')).toEqual([
        `arn:<AWS::Partition>:iam::${MEMBER_A}:role/${DEFAULT_MEMBER_ROLE_NAME}`,
        `arn:<AWS::Partition>:iam::${MEMBER_B}:role/${DEFAULT_MEMBER_ROLE_NAME}`,
      ]);
      // No Step Functions permission on another account: members are reached by their role.
      const sfnResources = st.filter((s) => list(s.Action).some((a) => a.startsWith('states:'))).flatMap((s) => list(s.Resource).map(flatten));
      expect(sfnResources.filter((r) => r !== '*' && !r.includes(`:${ACCOUNT}:`))).toEqual([]);
    }
  });

  test('the home account is served with its own role in every served Region', () => {
    const t = central({ organization: { ...ORGANIZATION, servedRegions: ['us-east-1', REGION] } });
    const executions = [
      `arn:<AWS::Partition>:states:${REGION}:${ACCOUNT}:execution:*:*`,
      `arn:<AWS::Partition>:states:us-east-1:${ACCOUNT}:execution:*:*`,
    ].sort();
    for (const id of [t.controllerId, t.drainId]) {
      expect(resourcesFor(functionStatements(t.template, id), 'states:RedriveExecution')).toEqual(executions);
    }
    expect(resourcesFor(functionStatements(t.template, t.drainId), 'states:ListExecutions')).toEqual([
      `arn:<AWS::Partition>:states:${REGION}:${ACCOUNT}:stateMachine:*`,
      `arn:<AWS::Partition>:states:us-east-1:${ACCOUNT}:stateMachine:*`,
    ].sort());
    expect(nagFindings(t.stack)).toEqual([]);
  });

  test('outputs: central bus ARN, controller and drain role ARNs', () => {
    const t = central();
    const outputs = Object.values(t.template.toJSON().Outputs as Record<string, { Value: unknown }>).map((o) => o.Value);
    expect(outputs).toEqual(expect.arrayContaining([
      { 'Fn::GetAtt': [logicalIdOf(t.stack, t.ar.centralEventBus!), 'Arn'] },
      { 'Fn::GetAtt': [logicalIdOf(t.stack, t.ar.controller.role! as never), 'Arn'] },
      { 'Fn::GetAtt': [logicalIdOf(t.stack, t.ar.drain.role! as never), 'Arn'] },
    ]));
  });

  test('without organization: no central bus, no ORG_ENV, no sts:AssumeRole', () => {
    const t = central({});
    t.template.resourceCountIs('AWS::Events::EventBus', 0);
    t.template.resourceCountIs('AWS::Events::EventBusPolicy', 0);
    expect(t.ar.centralEventBus).toBeUndefined();
    for (const id of [t.controllerId, t.drainId]) {
      for (const name of Object.values(ORG_ENV)) expect(t.env(id)[name]).toBeUndefined();
      expect(resourcesFor(functionStatements(t.template, id), 'sts:AssumeRole')).toEqual([]);
    }
  });

  test('cdk-nag clean, no annotations, every acknowledgment has a reason', () => {
    const t = central();
    expect(nagFindings(t.stack)).toEqual([]);
    expect(annotationProblems(t.stack)).toEqual([]);
    for (const [, , reason] of acknowledgments(t.stack)) expect(reason.length).toBeGreaterThan(40);
  });

  test('environment-agnostic stack: nag clean, served Region is the stack\'s Region token', () => {
    const { stack, ar } = newAutoRedrive({ organization: ORGANIZATION }, { id: 'Central', agnostic: true });
    const env = Template.fromStack(stack).toJSON().Resources[logicalIdOf(stack, ar.controller)].Properties.Environment.Variables;
    expect(env[ORG_ENV.servedRegions]).toEqual({ Ref: 'AWS::Region' });
    expect(nagFindings(stack)).toEqual([]);
  });
});

describe('central: organization validation names the prop', () => {
  const cases: Array<[string, Partial<AutoRedriveOrganization>, RegExp]> = [
    ['no member accounts', { memberAccounts: [] }, /^AutoRedrive: organization\.memberAccounts must list at least one account: the controller acts only on the listed accounts/],
    ['bad account', { memberAccounts: [MEMBER_A, '1234'] }, /^AutoRedrive: organization\.memberAccounts\[1\] '1234' is not a 12-digit account id$/],
    ['duplicate account', { memberAccounts: [MEMBER_A, MEMBER_A] }, /^AutoRedrive: organization\.memberAccounts contains duplicates: '111111111111'$/],
    ['own account', { memberAccounts: [ACCOUNT] }, /^AutoRedrive: organization\.memberAccounts must not include the stack's own account 123456789012/],
    ['bad organization id', { organizationId: 'org-1' }, /^AutoRedrive: organization\.organizationId must be an organization id/],
    ['external id too short', { externalId: 'x' }, /^AutoRedrive: organization\.externalId must be 2 to 1224 characters/],
    ['external id with a space', { externalId: 'a b' }, /^AutoRedrive: organization\.externalId must be 2 to 1224 characters/],
    ['external id too long', { externalId: 'a'.repeat(1225) }, /^AutoRedrive: organization\.externalId must be 2 to 1224 characters .* got 1225 characters$/],
    ['missing external id', { externalId: undefined }, /^AutoRedrive: organization\.externalId is required$/],
    ['served Regions without the stack Region', { servedRegions: ['us-east-1'] }, /^AutoRedrive: organization\.servedRegions must include the stack's Region eu-west-1/],
    ['bad Region', { servedRegions: [REGION, 'Europe'] }, /^AutoRedrive: organization\.servedRegions\[1\] 'Europe' is not a Region name/],
    ['empty served Regions', { servedRegions: [] }, /^AutoRedrive: organization\.servedRegions must contain at least one Region$/],
    ['bad role name', { memberRoleName: 'a/b' }, /^AutoRedrive: organization\.memberRoleName must be an IAM role name/],
    ['default bus name', { eventBusName: 'default' }, /^AutoRedrive: organization\.eventBusName must not be 'default'/],
  ];
  test.each(cases)('%s', (_name, override, message) => {
    const organization = { ...ORGANIZATION, ...override } as AutoRedriveOrganization;
    expect(() => newAutoRedrive({ organization }, { id: 'Central' })).toThrow(message);
  });

  test('2- and 1224-character external ids of every allowed character are accepted', () => {
    for (const externalId of ['ab', 'Az09_+=,.@:/-'.padEnd(1224, 'x')]) {
      expect(() => central({ organization: { ...ORGANIZATION, externalId } })).not.toThrow();
    }
  });
});

// ---- Member side -----------------------------------------------------------------------

const MEMBER_PROPS: AutoRedriveMemberProps = {
  centralEventBusArn: CENTRAL_BUS,
  controllerRoleArns: [CONTROLLER_ROLE, DRAIN_ROLE],
  externalId: EXTERNAL_ID,
};

function member(props: Partial<AutoRedriveMemberProps> = {}, account: string | undefined = undefined) {
  const stack = account ? new Stack(newApp(), 'Member', { env: { account, region: REGION } }) : newStack({ id: 'Member', agnostic: true });
  const m = new AutoRedriveMember(stack, 'AutoRedriveMember', { ...MEMBER_PROPS, ...props });
  const template = Template.fromStack(stack);
  const resources = template.toJSON().Resources as Record<string, any>;
  const role = resources[logicalIdOf(stack, m.role)];
  const permissions = role.Properties.Policies.flatMap((p: any) => p.PolicyDocument.Statement) as Statement[];
  return { stack, m, template, resources, role, permissions, trust: role.Properties.AssumeRolePolicyDocument.Statement as any[] };
}

describe('member: AutoRedriveMember', () => {
  test('forwarding rule: statusChangePattern() on the default bus, target the central bus with a DLQ', () => {
    const t = member();
    const rule = t.resources[logicalIdOf(t.stack, t.m.rule)].Properties;
    expect(rule.EventBusName).toBeUndefined(); // the account's default bus
    expect(rule.EventPattern).toEqual(statusChangePattern());
    expect(rule.Targets).toHaveLength(1);
    const [target] = rule.Targets;
    expect(target.Arn).toBe(CENTRAL_BUS);
    expect(target.DeadLetterConfig).toEqual({ Arn: { 'Fn::GetAtt': [logicalIdOf(t.stack, t.m.deadLetterQueue), 'Arn'] } });
    // The rule's role may only put events on the central bus.
    const roleId = target.RoleArn['Fn::GetAtt'][0];
    const policy = Object.values(t.template.findResources('AWS::IAM::Policy')).find((p) =>
      p.Properties.Roles.some((r: { Ref: string }) => r.Ref === roleId),
    )!;
    expect(policy.Properties.PolicyDocument.Statement).toEqual([
      { Action: 'events:PutEvents', Effect: 'Allow', Resource: CENTRAL_BUS },
    ]);
  });

  test('the DLQ is encrypted and SSL-only', () => {
    const t = member();
    const queueId = logicalIdOf(t.stack, t.m.deadLetterQueue);
    expect(t.resources[queueId].Properties.SqsManagedSseEnabled).toBe(true);
    t.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  test('statuses and stateMachineArns narrow the rule with the same builder', () => {
    // The canary joins the listed machines (test/lib/canary.test.ts).
    const t = member({ statuses: ['FAILED', 'TIMED_OUT', 'ABORTED'], stateMachineArns: [ORDERS] }, MEMBER_A);
    expect(t.resources[logicalIdOf(t.stack, t.m.rule)].Properties.EventPattern).toEqual(
      statusChangePattern({ statuses: ['FAILED', 'TIMED_OUT', 'ABORTED'], stateMachineArns: [ORDERS, t.stack.resolve(t.m.canary!.stateMachineArn)] }),
    );
  });

  test('trust policy: only the controller roles (account principal + aws:PrincipalArn), with the external id', () => {
    const t = member();
    expect(t.role.Properties.RoleName).toBe(DEFAULT_MEMBER_ROLE_NAME);
    expect(t.trust).toHaveLength(1);
    const [statement] = t.trust;
    expect(statement.Effect).toBe('Allow');
    expect(statement.Action).toBe('sts:AssumeRole');
    expect(flatten(statement.Principal.AWS)).toBe(`arn:<AWS::Partition>:iam::${ACCOUNT}:root`);
    expect(statement.Condition).toEqual({
      StringEquals: { 'sts:ExternalId': EXTERNAL_ID },
      ArnEquals: { 'aws:PrincipalArn': [CONTROLLER_ROLE, DRAIN_ROLE] },
    });
  });

  test('trust policy: organizationId adds aws:PrincipalOrgID; roleName names the role', () => {
    const t = member({ organizationId: ORG_ID, roleName: 'RedriveMember' });
    expect(t.role.Properties.RoleName).toBe('RedriveMember');
    expect(t.trust[0].Condition.StringEquals).toEqual({ 'sts:ExternalId': EXTERNAL_ID, 'aws:PrincipalOrgID': ORG_ID });
  });

  test('permissions: exactly the four Step Functions actions, on this account in every Region', () => {
    const t = member();
    const actions = t.permissions.flatMap((s) => list(s.Action)).sort();
    expect(actions).toEqual([...MEMBER_ROLE_ACTIONS].sort());
    expect(actions.some((a) => a.includes('*'))).toBe(false);
    expect(t.permissions.every((s) => s.Effect === 'Allow')).toBe(true);
    expect(resourcesFor(t.permissions, 'states:RedriveExecution')).toEqual([
      'arn:<AWS::Partition>:states:*:<AWS::AccountId>:execution:*:*',
    ]);
    expect(resourcesFor(t.permissions, 'states:DescribeExecution')).toEqual([
      'arn:<AWS::Partition>:states:*:<AWS::AccountId>:execution:*:*',
    ]);
    expect(resourcesFor(t.permissions, 'states:ListExecutions')).toEqual([
      'arn:<AWS::Partition>:states:*:<AWS::AccountId>:stateMachine:*',
    ]);
    expect(resourcesFor(t.permissions, 'states:ListStateMachines')).toEqual(['*']);
    // The role has no managed policies and no other policy attached.
    expect(t.role.Properties.ManagedPolicyArns).toBeUndefined();
    const attached = Object.values(t.template.findResources('AWS::IAM::Policy')).filter((p) =>
      p.Properties.Roles.some((r: { Ref: string }) => r.Ref === logicalIdOf(t.stack, t.m.role)),
    );
    expect(attached).toEqual([]);
  });

  test('permissions narrowed to the listed state machines', () => {
    const t = member({ stateMachineArns: [ORDERS], canary: false }, MEMBER_A);
    expect(resourcesFor(t.permissions, 'states:RedriveExecution')).toEqual([
      `arn:aws:states:${REGION}:${MEMBER_A}:execution:orders:*`,
    ]);
    expect(resourcesFor(t.permissions, 'states:ListExecutions')).toEqual([ORDERS]);
    expect(resourcesFor(t.permissions, 'states:ListStateMachines')).toEqual(['*']);
    expect(nagFindings(t.stack)).toEqual([]);
  });

  test('roleRegion: the role (and its output) exist only in that Region\'s stack', () => {
    const t = member({ roleRegion: 'us-east-1' });
    const conditionId = t.role.Condition as string;
    expect(t.template.toJSON().Conditions[conditionId]).toEqual({ 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'us-east-1'] });
    const output = Object.values(t.template.toJSON().Outputs as Record<string, any>).find((o) =>
      JSON.stringify(o.Value).includes(logicalIdOf(t.stack, t.m.role)),
    );
    expect(output.Condition).toBe(conditionId);
    // The forwarding rule is unconditional.
    expect(t.resources[logicalIdOf(t.stack, t.m.rule)].Condition).toBeUndefined();
    expect(nagFindings(t.stack)).toEqual([]);
  });

  test('cdk-nag clean, no annotations, every acknowledgment has a reason', () => {
    const t = member({ organizationId: ORG_ID });
    expect(nagFindings(t.stack)).toEqual([]);
    expect(annotationProblems(t.stack)).toEqual([]);
    const acks = acknowledgments(t.stack);
    expect(acks.map(([, id]) => id).sort()).toEqual([
      'AwsSolutions-IAM5[Resource::*]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:*:<AWS::AccountId>:execution:*:*]',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:*:<AWS::AccountId>:stateMachine:*]',
      // The canary (lib/canary.ts): its role's own executions, no logs or tracing.
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:AutoRedriveCanary-Member:*]',
      'AwsSolutions-SF1',
      'AwsSolutions-SF2',
      'AwsSolutions-SQS3',
    ]);
    for (const [, , reason] of acks) expect(reason.length).toBeGreaterThan(40);
  });
});

describe('member: validation names the prop', () => {
  const cases: Array<[string, Partial<AutoRedriveMemberProps>, RegExp]> = [
    ['missing bus', { centralEventBusArn: undefined }, /^AutoRedriveMember: centralEventBusArn is required$/],
    ['bus name, not ARN', { centralEventBusArn: 'AutoRedriveCentral' }, /^AutoRedriveMember: centralEventBusArn must be an event bus ARN/],
    ['missing roles', { controllerRoleArns: undefined }, /^AutoRedriveMember: controllerRoleArns is required$/],
    ['no roles', { controllerRoleArns: [] }, /^AutoRedriveMember: controllerRoleArns must contain at least one role ARN$/],
    ['user, not role', { controllerRoleArns: [`arn:aws:iam::${ACCOUNT}:user/bob`] }, /^AutoRedriveMember: controllerRoleArns\[0\] .* is not an IAM role ARN/],
    ['duplicate role', { controllerRoleArns: [CONTROLLER_ROLE, CONTROLLER_ROLE] }, /^AutoRedriveMember: controllerRoleArns contains duplicates/],
    ['missing external id', { externalId: undefined }, /^AutoRedriveMember: externalId is required$/],
    ['external id too short', { externalId: 'x' }, /^AutoRedriveMember: externalId must be 2 to 1224 characters/],
    ['external id bad character', { externalId: 'abc#def' }, /^AutoRedriveMember: externalId must be 2 to 1224 characters/],
    ['bad organization id', { organizationId: 'o-UPPER12345' }, /^AutoRedriveMember: organizationId must be an organization id/],
    ['bad role name', { roleName: 'x'.repeat(65) }, /^AutoRedriveMember: roleName must be an IAM role name/],
    ['bad role Region', { roleRegion: 'global' }, /^AutoRedriveMember: roleRegion 'global' is not a Region name/],
    ['bad status', { statuses: ['RUNNING' as never] }, /^AutoRedriveMember: statuses: 'RUNNING' is not one of/],
    ['empty machines', { stateMachineArns: [] }, /^AutoRedriveMember: stateMachineArns must not be empty/],
    ['not a machine ARN', { stateMachineArns: ['orders'] }, /^AutoRedriveMember: stateMachineArns\[0\] 'orders' is not a state machine ARN/],
  ];
  test.each(cases)('%s', (_name, override, message) => {
    const stack = newStack({ id: 'Member', agnostic: true });
    expect(() => new AutoRedriveMember(stack, 'M', { ...MEMBER_PROPS, ...override } as AutoRedriveMemberProps)).toThrow(message);
  });

  test('a state machine of another account', () => {
    expect(() => member({ stateMachineArns: [ORDERS] }, MEMBER_B)).toThrow(
      /^AutoRedriveMember: stateMachineArns\[0\] .* is in account 111111111111, but the stack is in 222222222222/,
    );
  });
});

// ---- Stacks from context ---------------------------------------------------------------

const MEMBER_CONTEXT = {
  [CONTEXT.member]: 'true',
  [CONTEXT.centralEventBusArn]: CENTRAL_BUS,
  [CONTEXT.controllerRoleArns]: `${CONTROLLER_ROLE},${DRAIN_ROLE}`,
  [CONTEXT.externalId]: EXTERNAL_ID,
};

describe('stacks from context', () => {
  test('central: auto-redrive:organization with the organization keys (strings, as from -c)', () => {
    const stack = newAutoRedriveStack({
      [CONTEXT.organization]: 'true',
      [CONTEXT.memberAccounts]: `${MEMBER_A}, ${MEMBER_B}`,
      [CONTEXT.organizationId]: ORG_ID,
      [CONTEXT.externalId]: EXTERNAL_ID,
      [CONTEXT.servedRegions]: `${REGION},us-west-2`,
    });
    const template = Template.fromStack(stack);
    const env = template.toJSON().Resources[logicalIdOf(stack, stack.autoRedrive.controller)].Properties.Environment.Variables;
    expect(env).toMatchObject({
      [ORG_ENV.memberAccounts]: `${MEMBER_A},${MEMBER_B}`,
      [ORG_ENV.servedRegions]: `${REGION},us-west-2`,
      [ENV.policyTableName]: expect.anything(),
    });
    // Stable output keys for the member side's context.
    expect(Object.keys(template.toJSON().Outputs)).toEqual(
      expect.arrayContaining(['CentralEventBusArn', 'ControllerRoleArn', 'DrainRoleArn']),
    );
    expect(nagFindings(stack)).toEqual([]);
  });

  test('member stack: StackSet-ready template (no bootstrap rule, no assets, no literal account)', () => {
    // aws:cdk:version-reporting as the CDK CLI sets it: still no AWS::CDK::Metadata resource.
    const app = newApp({
      ...MEMBER_CONTEXT,
      [CONTEXT.organizationId]: ORG_ID,
      [CONTEXT.memberRoleRegion]: REGION,
      'aws:cdk:version-reporting': true,
    });
    const stack = new AutoRedriveMemberStack(app, 'AutoRedriveMember');
    const template = Template.fromStack(stack).toJSON();
    expect(template.Parameters).toBeUndefined();
    expect(template.Rules).toBeUndefined();
    const types = new Set(Object.values(template.Resources as Record<string, { Type: string }>).map((r) => r.Type));
    expect([...types].sort()).toEqual(['AWS::Events::Rule', 'AWS::IAM::Policy', 'AWS::IAM::Role', 'AWS::SQS::Queue', 'AWS::SQS::QueuePolicy', 'AWS::StepFunctions::StateMachine']);
    // The only 12-digit ids in the template are the central account's.
    const ids = new Set(JSON.stringify(template).match(/\d{12}/g));
    expect([...ids]).toEqual([ACCOUNT]);
    expect(Object.keys(template.Outputs).sort()).toEqual(['CanaryStateMachineArn', 'ForwardDeadLetterQueueUrl', 'MemberRoleArn']);
    expect(nagFindings(stack)).toEqual([]);
  });

  test('member stack with cdk.json-style empty values uses the defaults', () => {
    const app = newApp({
      ...MEMBER_CONTEXT,
      [CONTEXT.controllerRoleArns]: [CONTROLLER_ROLE, DRAIN_ROLE],
      [CONTEXT.organizationId]: '',
      [CONTEXT.memberRoleName]: '',
      [CONTEXT.memberRoleRegion]: '',
      [CONTEXT.stateMachineArns]: [],
      [CONTEXT.statuses]: ['FAILED', 'TIMED_OUT'],
    });
    const stack = new AutoRedriveMemberStack(app, 'AutoRedriveMember');
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::IAM::Role', { RoleName: DEFAULT_MEMBER_ROLE_NAME });
    expect(stack.member.roleCondition).toBeUndefined();
  });

  describe('invalid context: the error names the context key', () => {
    test.each([
      [{ ...MEMBER_CONTEXT, [CONTEXT.centralEventBusArn]: '' }, /^Context 'auto-redrive:centralEventBusArn': is required for the member stack/],
      [{ ...MEMBER_CONTEXT, [CONTEXT.controllerRoleArns]: [] }, /^Context 'auto-redrive:controllerRoleArns': is required for the member stack/],
      [{ ...MEMBER_CONTEXT, [CONTEXT.externalId]: '' }, /^Context 'auto-redrive:externalId': is required for the member stack/],
      [{ ...MEMBER_CONTEXT, [CONTEXT.externalId]: 'a b' }, /^Context 'auto-redrive:externalId': AutoRedriveMember: externalId must be 2 to 1224/],
      [{ ...MEMBER_CONTEXT, [CONTEXT.controllerRoleArns]: 'role/x' }, /^Context 'auto-redrive:controllerRoleArns': AutoRedriveMember: controllerRoleArns\[0\]/],
      [{ ...MEMBER_CONTEXT, [CONTEXT.memberRoleRegion]: 'moon' }, /^Context 'auto-redrive:memberRoleRegion': AutoRedriveMember: roleRegion/],
    ])('member %#', (context, message) => {
      expect(() => new AutoRedriveMemberStack(newApp(context), 'AutoRedriveMember')).toThrow(message);
    });

    test.each([
      [{ [CONTEXT.organization]: 'yes' }, /^Context 'auto-redrive:organization': must be true or false/],
      [{ [CONTEXT.organization]: true, [CONTEXT.memberAccounts]: [MEMBER_A] }, /^Context 'auto-redrive:externalId': is required when 'auto-redrive:organization' is true$/],
      [{ [CONTEXT.organization]: true, [CONTEXT.externalId]: EXTERNAL_ID }, /^Context 'auto-redrive:memberAccounts': AutoRedrive: organization\.memberAccounts must list at least one account/],
      [{ [CONTEXT.organization]: true, [CONTEXT.externalId]: EXTERNAL_ID, [CONTEXT.memberAccounts]: '42' }, /^Context 'auto-redrive:memberAccounts': AutoRedrive: organization\.memberAccounts\[0\] '42'/],
      [{ [CONTEXT.organization]: true, [CONTEXT.externalId]: EXTERNAL_ID, [CONTEXT.memberAccounts]: MEMBER_A, [CONTEXT.servedRegions]: 'us-east-1' }, /^Context 'auto-redrive:servedRegions': AutoRedrive: organization\.servedRegions must include/],
      [{ [CONTEXT.organization]: true, [CONTEXT.externalId]: EXTERNAL_ID, [CONTEXT.memberAccounts]: MEMBER_A, [CONTEXT.organizationId]: 'o-1' }, /^Context 'auto-redrive:organizationId': AutoRedrive: organization\.organizationId/],
      [{ [CONTEXT.memberAccounts]: MEMBER_A }, /^Context 'auto-redrive:memberAccounts': is set but 'auto-redrive:organization' is not true/],
    ])('central %#', (context, message) => {
      expect(() => newAutoRedriveStack(context)).toThrow(message);
    });
  });
});
