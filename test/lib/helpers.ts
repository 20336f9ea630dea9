import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { IConstruct } from 'constructs';
import { AutoRedrive, type AutoRedriveProps } from '../../lib/auto-redrive';
import { AutoRedriveStack } from '../../lib/auto-redrive-stack';

/** App context that skips asset bundling (esbuild) for every stack: fast, for variants. */
export const SKIP_BUNDLING = { 'aws:cdk:bundling-stacks': [] as string[] };

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';

const outdirs: string[] = [];

/** A test App writing to its own temporary cloud assembly (see {@link removeOutdirs}). */
export function newApp(context: Record<string, unknown> = {}, bundle = false): App {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'auto-redrive-test-'));
  outdirs.push(outdir);
  return new App({ outdir, context: { ...(bundle ? {} : SKIP_BUNDLING), ...context } });
}

export interface TestStackOptions {
  /** Stack id. @default 'Test' */
  readonly id?: string;
  /** Environment-agnostic (no account or Region). @default false: ACCOUNT in REGION */
  readonly agnostic?: boolean;
  /** App context. */
  readonly context?: Record<string, unknown>;
}

/** A stack in a fresh App (see {@link newApp}), in ACCOUNT and REGION unless `agnostic`. */
export function newStack(options: TestStackOptions = {}): Stack {
  return new Stack(newApp(options.context), options.id ?? 'Test', options.agnostic ? {} : { env: { account: ACCOUNT, region: REGION } });
}

/** An AutoRedrive in a fresh stack, not synthesized (enough for its validation errors). */
export function newAutoRedrive(props: AutoRedriveProps = {}, options: TestStackOptions = {}): { stack: Stack; ar: AutoRedrive } {
  const stack = newStack(options);
  return { stack, ar: new AutoRedrive(stack, 'AutoRedrive', props) };
}

/** An AutoRedrive in a fresh stack, synthesized: its template and the logical ids of its parts. */
export function synthAutoRedrive(props: AutoRedriveProps = {}, options: TestStackOptions = {}) {
  const { stack, ar } = newAutoRedrive(props, options);
  const template = Template.fromStack(stack);
  const resources = template.toJSON().Resources as Record<string, any>;
  const id = (c: IConstruct): string => logicalIdOf(stack, c);
  return {
    stack,
    ar,
    template,
    resources,
    id,
    controllerId: id(ar.controller),
    drainId: id(ar.drain),
    /** The environment variables of a function, by its logical id. */
    env: (functionId: string) => resources[functionId].Properties.Environment.Variables as Record<string, unknown>,
  };
}
export type SynthesizedAutoRedrive = ReturnType<typeof synthAutoRedrive>;

/** The deployable AutoRedriveStack ('AutoRedrive') of a fresh App with `context`, in ACCOUNT and REGION. */
export function newAutoRedriveStack(context: Record<string, unknown> = {}): AutoRedriveStack {
  return new AutoRedriveStack(newApp(context), 'AutoRedrive', { env: { account: ACCOUNT, region: REGION } });
}

/** Removes the cloud assemblies of every App created by {@link newApp}; call in afterAll. */
export function removeOutdirs(): void {
  for (const d of outdirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

/**
 * Flattens a CloudFormation value to a string the way cdk-nag renders it:
 * `{Ref: X}` -> `<X>`, `{Fn::GetAtt: [X, Arn]}` -> `<X.Arn>`, Fn::Join concatenated.
 */
export function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  const o = value as Record<string, unknown>;
  if (o['Fn::Join']) {
    const [d, parts] = o['Fn::Join'] as [string, unknown[]];
    return parts.map(flatten).join(d);
  }
  if (o['Fn::GetAtt']) return `<${(o['Fn::GetAtt'] as string[]).join('.')}>`;
  if (o.Ref) return `<${o.Ref as string}>`;
  return JSON.stringify(value);
}

export interface Statement {
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | string[];
  readonly Resource: unknown;
}

export const list = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

/** Allow statements of every identity policy (AWS::IAM::Policy and inline role policies). */
export function identityStatements(template: Template): Statement[] {
  const out: Statement[] = [];
  for (const r of Object.values(template.findResources('AWS::IAM::Policy'))) {
    out.push(...(r.Properties.PolicyDocument.Statement as Statement[]));
  }
  for (const r of Object.values(template.findResources('AWS::IAM::Role'))) {
    for (const p of r.Properties.Policies ?? []) out.push(...(p.PolicyDocument.Statement as Statement[]));
  }
  return out.filter((s) => s.Effect === 'Allow');
}

/** Statements of the IAM policy attached to the role that `functionLogicalId` runs as. */
export function functionStatements(template: Template, functionLogicalId: string): Statement[] {
  const fn = template.toJSON().Resources[functionLogicalId];
  const roleId = fn.Properties.Role['Fn::GetAtt'][0] as string;
  const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
    (p.Properties.Roles as Array<{ Ref: string }>).some((r) => r.Ref === roleId),
  );
  return policies.flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

/** Flattened resources of the statements that grant `action`. */
export function resourcesFor(statements: Statement[], action: string): string[] {
  return statements
    .filter((s) => list(s.Action).includes(action))
    .flatMap((s) => list(s.Resource).map(flatten))
    .sort();
}

export function logicalIdOf(stack: Stack, c: IConstruct): string {
  return stack.resolve((c.node.defaultChild as unknown as { logicalId: string }).logicalId);
}

/** cdk-nag AwsSolutions findings not acknowledged: "<severity> <rule> <paths>". */
export function nagFindings(scope: IConstruct): string[] {
  const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(scope);
  return report.violations.map(
    (v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
  );
}

/** CDK annotations (errors and warnings) produced while synthesizing the stack. */
export function annotationProblems(stack: Stack): string[] {
  const a = Annotations.fromStack(stack);
  return [...a.findError('*', Match.anyValue()), ...a.findWarning('*', Match.anyValue())].map(
    (m) => `${m.id}: ${String(m.entry.data)}`,
  );
}

/** Every `Validations.acknowledge()` record under `scope`: [constructPath, ruleId, reason]. */
export function acknowledgments(scope: IConstruct): Array<[string, string, string]> {
  const out: Array<[string, string, string]> = [];
  for (const c of scope.node.findAll()) {
    for (const m of c.node.metadata) {
      if (m.type !== 'aws:cdk:acknowledged-rules') continue;
      for (const [id, reason] of Object.entries(m.data as Record<string, string>)) {
        out.push([c.node.path, id.replace(/^annotation::/i, ''), reason]);
      }
    }
  }
  return out;
}
