/**
 * Dashboard, alarms, alarm topic and the events-out permission. Every metric the
 * synthesized dashboard and alarms reference is checked against lib/metrics.ts (the
 * contract: METRIC names with the exact dimension set the Lambda emits, or an allow-listed
 * AWS metric), and lib/metrics.ts is checked against the Lambda: its source (which
 * dimensions each call site passes) and Powertools' actual EMF output (the `service`
 * dimension). Bundling is skipped.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CfnParameter, Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as ts from 'typescript';
import { DIMENSION, METRIC, METRICS_NAMESPACE, SERVICE_NAME, type MetricName } from '../../contract/metrics';
import { PowertoolsMetrics } from '../../lambda/observability/telemetry';
import { AutoRedrive, AutoRedriveProps } from '../../lib/auto-redrive';
import { CONTEXT } from '../../lib/auto-redrive-stack';
import { AWS_METRICS, EMITTED_DIMENSIONS, OUTCOMES, SERVICE_DIMENSION, autoRedriveMetric, autoRedriveSearch } from '../../lib/metrics';
import { AlarmKey, RUNBOOK } from '../../lib/observability';
import { ACCOUNT, REGION, acknowledgments, annotationProblems, flatten, identityStatements, list, logicalIdOf, nagFindings, newAutoRedrive, newAutoRedriveStack, newStack, removeOutdirs, resourcesFor, synthAutoRedrive } from './helpers';

afterAll(removeOutdirs);

const ORDERS = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:orders`;
const BILLING = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:billing`;
const DEFAULT_BUS = `arn:<AWS::Partition>:events:${REGION}:${ACCOUNT}:event-bus/default`;

function build(props: AutoRedriveProps = {}) {
  const t = synthAutoRedrive(props);
  return {
    ...t,
    topicRef: { Ref: t.id(t.ar.alarmTopic) },
    alarm: (key: AlarmKey) => t.resources[t.id(t.ar.alarms[key])].Properties,
    dashboard: () => dashboardBody(t.resources[t.id(t.ar.dashboard)].Properties.DashboardBody),
  };
}
type Built = ReturnType<typeof build>;

// ---- Reading the synthesized dashboard ---------------------------------------------------

/** The DashboardBody (an Fn::Join) as JSON, with `<Ref>` / `<Id.Attr>` placeholders for tokens. */
function dashboardBody(body: unknown): { widgets: any[] } {
  return JSON.parse(flatten(body));
}

/** A metric reference: an explicit metric (dims with values) or a SEARCH (values = filters). */
interface MetricRef {
  readonly where: string;
  readonly namespace: string;
  readonly name: string;
  /** Dimension name -> value (undefined: any value, in a SEARCH schema without a filter). */
  readonly dimensions: Record<string, string | undefined>;
  readonly search: boolean;
}

const SEARCH_CALL = /SEARCH\('\{([^}]*)\}\s*([^']*)',\s*'([^']+)',\s*(\d+)\)/g;

/** The metrics a SEARCH-only expression reads; fails on anything else. */
function searchesIn(expression: string, where: string): MetricRef[] {
  const found = [...expression.matchAll(SEARCH_CALL)];
  if (found.length === 0) throw new Error(`${where}: expression without SEARCH(): ${expression}`);
  // Nothing but SUM(...) around the searches (no metric ids from elsewhere).
  expect(expression.replace(SEARCH_CALL, '').replace(/SUM\(|\)/g, '').trim()).toBe('');
  return found.map(([, schema, terms]) => {
    const [namespace, ...dimensionNames] = schema.split(',').map((s) => s.trim());
    const filters = Object.fromEntries([...terms.matchAll(/(\w+)="([^"]*)"/g)].map(([, k, v]) => [k, v]));
    // Only exact (quoted) terms: a bare term would be a partial match.
    expect(terms.replace(/(\w+)="([^"]*)"/g, '').trim()).toBe('');
    const { MetricName: name, ...dimensionFilters } = filters;
    for (const k of Object.keys(dimensionFilters)) expect({ where, schema: dimensionNames, filter: k }).toEqual({ where, schema: expect.arrayContaining([k]), filter: k });
    return {
      where,
      namespace,
      name,
      dimensions: Object.fromEntries(dimensionNames.map((d) => [d, dimensionFilters[d]])),
      search: true,
    };
  });
}

/** Every metric the dashboard's graph widgets reference. */
function dashboardMetrics(body: { widgets: any[] }): MetricRef[] {
  const out: MetricRef[] = [];
  for (const w of body.widgets) {
    if (w.type !== 'metric') continue;
    const where = `widget "${w.properties.title}"`;
    let previous: unknown[] = [];
    for (const row of w.properties.metrics as unknown[][]) {
      const options = row.find((x) => typeof x === 'object') as Record<string, any> | undefined;
      if (options?.expression) {
        out.push(...searchesIn(options.expression, where));
        continue;
      }
      // [namespace, name, dim1, value1, ..., options?]; '.' repeats the previous row's item.
      const items = row.filter((x) => typeof x === 'string').map((x, i) => (x === '.' ? previous[i] : x)) as string[];
      previous = items;
      const [namespace, name, ...dims] = items;
      const dimensions: Record<string, string> = {};
      for (let i = 0; i < dims.length; i += 2) dimensions[dims[i]] = dims[i + 1];
      out.push({ where, namespace, name, dimensions, search: false });
    }
  }
  return out;
}

/** The metric of an alarm resource. */
function alarmMetric(key: string, p: any): MetricRef {
  expect(p.Metrics).toBeUndefined(); // a plain metric alarm, no math
  return {
    where: `alarm ${key}`,
    namespace: p.Namespace,
    name: p.MetricName,
    dimensions: Object.fromEntries((p.Dimensions ?? []).map((d: any) => [d.Name, flatten(d.Value)])),
    search: false,
  };
}

// ---- The contract check --------------------------------------------------------------------

const sorted = (a: readonly string[]) => [...a].sort();

/**
 * Fails unless `m` is one of auto-redrive's metrics with exactly the dimension set the
 * Lambda emits (service plus EMITTED_DIMENSIONS), or an allow-listed AWS metric of this
 * construct's own resources.
 */
function expectKnownMetric(m: MetricRef, t: Built, stateMachineArns?: readonly string[]): void {
  const ctx = `${m.where}: ${m.namespace} ${m.name} ${JSON.stringify(m.dimensions)}`;
  if (m.namespace === METRICS_NAMESPACE) {
    expect({ ctx, known: (Object.values(METRIC) as string[]).includes(m.name) }).toEqual({ ctx, known: true });
    const name = m.name as MetricName;
    expect({ ctx, dims: sorted(Object.keys(m.dimensions)) }).toEqual({
      ctx,
      dims: sorted([SERVICE_DIMENSION, ...EMITTED_DIMENSIONS[name]]),
    });
    expect({ ctx, service: m.dimensions[SERVICE_DIMENSION] }).toEqual({ ctx, service: SERVICE_NAME });
    if (!m.search) {
      for (const [k, v] of Object.entries(m.dimensions)) expect({ ctx, k, v }).toEqual({ ctx, k, v: expect.any(String) });
    }
    const outcome = m.dimensions[DIMENSION.outcome];
    if (outcome !== undefined) expect(OUTCOMES).toContain(outcome);
    return;
  }
  const aws = Object.values(AWS_METRICS).find((a) => a.namespace === m.namespace);
  expect({ ctx, allowListed: aws !== undefined }).toEqual({ ctx, allowListed: true });
  expect({ ctx, known: (aws!.names as readonly string[]).includes(m.name) }).toEqual({ ctx, known: true });
  expect({ ctx, dims: Object.keys(m.dimensions) }).toEqual({ ctx, dims: [aws!.dimension] });
  const value = m.dimensions[aws!.dimension];
  const ar = t.ar;
  switch (aws) {
    case AWS_METRICS.lambda:
      expect({ ctx, value }).toEqual({ ctx, value: expect.stringMatching(new RegExp(`^<(${t.id(ar.controller)}|${t.id(ar.drain)})>$`)) });
      break;
    case AWS_METRICS.sqs:
      expect({ ctx, value }).toEqual({ ctx, value: `<${t.id(ar.deadLetterQueue)}.QueueName>` });
      break;
    case AWS_METRICS.states:
      if (stateMachineArns) {
        expect({ ctx, search: m.search }).toEqual({ ctx, search: false });
        expect(stateMachineArns).toContain(value);
      } else {
        expect({ ctx, search: m.search, value }).toEqual({ ctx, search: true, value: undefined });
      }
      break;
    default:
      throw new Error(`unhandled ${ctx}`);
  }
}

// ---- lib/metrics.ts against the Lambda -------------------------------------------------------

describe('the metrics module matches what the Lambda emits', () => {
  /** Dimension names passed at each `<x>.metrics.count|seconds|milliseconds(METRIC.y, ...)` call in lambda/. */
  function emittedInSource(): Map<MetricName, Set<string>> {
    const root = path.join(__dirname, '..', '..', 'lambda');
    const files = (fs.readdirSync(root, { recursive: true }) as string[])
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
      .map((f) => path.join(root, f));
    const found = new Map<MetricName, Set<string>>();
    const dimensionArg = { count: 1, seconds: 2, milliseconds: 2 } as Record<string, number>;
    for (const file of files) {
      const src = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
      const where = (n: ts.Node) => `${path.relative(root, file)}:${src.getLineAndCharacterOfPosition(n.getStart()).line + 1}`;
      const visit = (n: ts.Node): void => {
        if (
          ts.isCallExpression(n) &&
          ts.isPropertyAccessExpression(n.expression) &&
          n.expression.name.text in dimensionArg &&
          /(^|\.)metrics$/.test(n.expression.expression.getText(src))
        ) {
          const [first] = n.arguments;
          if (!first || !ts.isPropertyAccessExpression(first) || first.expression.getText(src) !== 'METRIC') {
            throw new Error(`${where(n)}: metric name is not a METRIC.<name> constant: ${n.getText(src)}`);
          }
          const name = METRIC[first.name.text as keyof typeof METRIC];
          const arg = n.arguments[dimensionArg[n.expression.name.text]];
          const keys: string[] = [];
          if (arg !== undefined) {
            if (!ts.isObjectLiteralExpression(arg)) throw new Error(`${where(n)}: dimensions are not an object literal`);
            for (const prop of arg.properties) {
              if (!ts.isPropertyAssignment(prop)) throw new Error(`${where(n)}: unsupported dimension property ${prop.getText(src)}`);
              const key = prop.name;
              if (ts.isIdentifier(key) || ts.isStringLiteral(key)) keys.push(key.text);
              else if (
                ts.isComputedPropertyName(key) &&
                ts.isPropertyAccessExpression(key.expression) &&
                key.expression.expression.getText(src) === 'DIMENSION'
              ) {
                keys.push(DIMENSION[key.expression.name.text as keyof typeof DIMENSION]);
              } else throw new Error(`${where(n)}: unsupported dimension key ${key.getText(src)}`);
            }
          }
          if (!found.has(name)) found.set(name, new Set());
          found.get(name)!.add(sorted(keys).join(','));
        }
        ts.forEachChild(n, visit);
      };
      visit(src);
    }
    return found;
  }

  test('every METRIC is emitted, always with the dimensions EMITTED_DIMENSIONS lists', () => {
    const found = emittedInSource();
    const expected = new Map(
      (Object.values(METRIC) as MetricName[]).map((n) => [n, new Set([sorted(EMITTED_DIMENSIONS[n]).join(',')])]),
    );
    expect(found).toEqual(expected);
  });

  test("Powertools emits each metric with dimension set [service, ...EMITTED_DIMENSIONS], service = the Lambda's POWERTOOLS_SERVICE_NAME", () => {
    const t = t0();
    const env = t.resources[t.id(t.ar.controller)].Properties.Environment.Variables;
    const saved = { ...process.env };
    const lines: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: any) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      process.env.POWERTOOLS_SERVICE_NAME = env.POWERTOOLS_SERVICE_NAME;
      process.env.POWERTOOLS_METRICS_NAMESPACE = env.POWERTOOLS_METRICS_NAMESPACE;
      delete process.env.POWERTOOLS_DEV;
      delete process.env.POWERTOOLS_METRICS_DISABLED;
      const metrics = new PowertoolsMetrics();
      for (const name of Object.values(METRIC) as MetricName[]) {
        // Each point is a singleMetric(), published (written) at once.
        metrics.count(name, Object.fromEntries(EMITTED_DIMENSIONS[name].map((d) => [d, 'x'])));
      }
    } finally {
      write.mockRestore();
      process.env = saved;
    }
    const emf = lines.flatMap((l) => l.split('\n')).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    expect(emf).toHaveLength(Object.values(METRIC).length);
    for (const e of emf) {
      const [cw] = e._aws.CloudWatchMetrics;
      const name = cw.Metrics[0].Name as MetricName;
      expect(cw.Namespace).toBe(METRICS_NAMESPACE);
      expect(cw.Dimensions.map(sorted)).toEqual([sorted([SERVICE_DIMENSION, ...EMITTED_DIMENSIONS[name]])]);
      expect(e[SERVICE_DIMENSION]).toBe(SERVICE_NAME);
    }
  });

  test('the builders refuse a dimension set the Lambda does not emit', () => {
    expect(() => autoRedriveMetric(METRIC.decisions)).toThrow(/Decisions is emitted with dimensions \[service, Outcome, Reason\]/);
    expect(() => autoRedriveMetric(METRIC.redrives, { dimensions: { StateMachine: 'x' } })).toThrow(/would match no data/);
    expect(() => autoRedriveSearch(METRIC.redrives, { Reason: 'x' })).toThrow(/Redrives has no dimension Reason/);
    expect(autoRedriveMetric(METRIC.deferrals, { dimensions: { Reason: 'rate-limited' } }).dimensions).toEqual({
      service: SERVICE_NAME,
      Reason: 'rate-limited',
    });
  });
});

// ---- Dashboard ---------------------------------------------------------------------------------

describe('dashboard', () => {
  test("every metric is the Lambda's (exact dimensions) or an allow-listed AWS metric; all of them are shown", () => {
    const t = t0();
    const metrics = dashboardMetrics(t.dashboard());
    for (const m of metrics) expectKnownMetric(m, t);
    // Every auto-redrive metric and every allow-listed AWS metric appears somewhere.
    const shown = new Set(metrics.map((m) => `${m.namespace}/${m.name}`));
    const all = [
      ...Object.values(METRIC).map((n) => `${METRICS_NAMESPACE}/${n}`),
      ...Object.values(AWS_METRICS).flatMap((a) => a.names.map((n) => `${a.namespace}/${n}`)),
    ];
    expect([...shown].sort()).toEqual(all.sort());
  });

  test('decisions by outcome: one SUM(SEARCH) per outcome, exact Outcome match', () => {
    const widget = t0().dashboard().widgets.find((w) => w.properties.title === 'Decisions by outcome');
    const expressions = widget.properties.metrics.map((row: any[]) => row[0]);
    expect(expressions.map((e: any) => e.label)).toEqual([...OUTCOMES]);
    for (const [i, o] of OUTCOMES.entries()) {
      expect(expressions[i].expression).toBe(
        `SUM(SEARCH('{AutoRedrive,Outcome,Reason,service} MetricName="Decisions" service="auto-redrive" Outcome="${o}"', 'Sum', 300))`,
      );
    }
  });

  test('redrives and the redrives that then succeeded are side by side', () => {
    const widget = t0().dashboard().widgets.find((w) => w.properties.title === 'Redrives (and those that then succeeded), exhaustions, deferrals');
    const metrics = dashboardMetrics({ widgets: [widget] });
    expect(metrics.slice(0, 2).map((m) => m.name)).toEqual([METRIC.redrives, METRIC.redrivesSucceeded]);
    const labels = (widget.properties.metrics as unknown[][]).map((row) => (row.find((x) => typeof x === 'object') as { label?: string }).label);
    expect(labels.slice(0, 2)).toEqual(['Redrives', 'Redrives that then succeeded']);
  });

  test('held for approval: the drain\'s AwaitingApproval gauge and the failures newly held for approval (HeldFailures, Reason awaiting-approval)', () => {
    const widget = t0().dashboard().widgets.find((w) => w.properties.title === 'Held for approval: awaiting a person; newly held');
    const metrics = dashboardMetrics({ widgets: [widget] });
    expect(metrics.map((m) => m.name)).toEqual([METRIC.awaitingApproval, METRIC.heldFailures]);
    expect(JSON.stringify(widget.properties.metrics[1])).toContain('"Reason","awaiting-approval"');
  });

  test('Lambda widgets: errors, throttles, duration p99, concurrent executions of both functions; DLQ depth', () => {
    const t = t0();
    const widgets = t.dashboard().widgets;
    const rows = (title: string) => widgets.find((w) => w.properties.title === title).properties.metrics as any[][];
    const fns = [`<${t.id(t.ar.controller)}>`, `<${t.id(t.ar.drain)}>`];
    for (const [title, name, stat] of [
      ['Lambda errors', 'Errors', 'Sum'],
      ['Lambda throttles', 'Throttles', 'Sum'],
      ['Lambda duration p99 (ms)', 'Duration', 'p99'],
      ['Lambda concurrent executions', 'ConcurrentExecutions', 'Maximum'],
    ]) {
      expect(rows(title).map((r) => [r[0], r[1], r[3], r[4].stat])).toEqual(fns.map((f) => ['AWS/Lambda', name, f, stat]));
    }
    expect(rows('Dead-letter queue depth')).toEqual([
      ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', `<${t.id(t.ar.deadLetterQueue)}.QueueName>`, expect.objectContaining({ stat: 'Maximum' })],
    ]);
  });

  test('Step Functions redrive metrics: SEARCH over all state machines by default', () => {
    const t = t0();
    const states = dashboardMetrics(t.dashboard()).filter((m) => m.namespace === 'AWS/States');
    expect(states.map((m) => m.name).sort()).toEqual([...AWS_METRICS.states.names].sort());
    expect(states.every((m) => m.search)).toBe(true);
  });

  test('Step Functions redrive metrics: one explicit metric per listed state machine', () => {
    const t = build({ stateMachineArns: [ORDERS, BILLING] });
    const metrics = dashboardMetrics(t.dashboard());
    for (const m of metrics) expectKnownMetric(m, t, [ORDERS, BILLING]);
    const states = metrics.filter((m) => m.namespace === 'AWS/States');
    expect(states).toHaveLength(AWS_METRICS.states.names.length * 2);
    expect(new Set(states.map((m) => m.dimensions.StateMachineArn))).toEqual(new Set([ORDERS, BILLING]));
    expect(states.some((m) => m.search)).toBe(false);
  });

  test('text widget links every runbook section under runbookUrl; alarm widget shows every alarm', () => {
    const t = build({ runbookUrl: 'https://github.com/acme/auto-redrive/blob/main/README.md' });
    const widgets = t.dashboard().widgets;
    const text = widgets.find((w) => w.type === 'text').properties.markdown as string;
    for (const anchor of Object.values(RUNBOOK)) {
      expect(text).toContain(`(https://github.com/acme/auto-redrive/blob/main/README.md#${anchor})`);
    }
    const alarmWidget = widgets.find((w) => w.type === 'alarm');
    expect(alarmWidget.properties.alarms.sort()).toEqual(
      [...Object.values(t.ar.alarms), t.ar.canaryAlarm!].map((a) => `<${t.id(a)}.Arn>`).sort(),
    );
  });

  test('default name AutoRedrive, default runbook link docs/runbook.md; dashboardName prop', () => {
    const t = t0();
    expect(t.resources[t.id(t.ar.dashboard)].Properties.DashboardName).toBe('AutoRedrive');
    expect(t.dashboard().widgets.find((w) => w.type === 'text').properties.markdown).toContain('(docs/runbook.md#runbook-dead-letter-queue-not-empty)');
    expect(t.alarm('deadLetterQueue').AlarmDescription).toMatch(/ Runbook: docs\/runbook\.md#runbook-dead-letter-queue-not-empty$/);
    const named = build({ dashboardName: 'AutoRedrive-payments' });
    expect(named.resources[named.id(named.ar.dashboard)].Properties.DashboardName).toBe('AutoRedrive-payments');
  });
});

// ---- Alarms ------------------------------------------------------------------------------------

describe('alarms', () => {
  const EXPECTED: Record<AlarmKey, Record<string, unknown>> = {
    deadLetterQueue: {
      Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Statistic: 'Maximum', Period: 300,
      ComparisonOperator: 'GreaterThanThreshold', Threshold: 0, EvaluationPeriods: 1, TreatMissingData: 'notBreaching',
    },
    controllerErrors: {
      Namespace: 'AWS/Lambda', MetricName: 'Errors', Statistic: 'Sum', Period: 300,
      ComparisonOperator: 'GreaterThanThreshold', Threshold: 0, EvaluationPeriods: 1, TreatMissingData: 'notBreaching',
    },
    drainErrors: {
      Namespace: 'AWS/Lambda', MetricName: 'Errors', Statistic: 'Sum', Period: 300,
      ComparisonOperator: 'GreaterThanThreshold', Threshold: 0, EvaluationPeriods: 3, DatapointsToAlarm: 3, TreatMissingData: 'notBreaching',
    },
    exhaustion: {
      Namespace: METRICS_NAMESPACE, MetricName: METRIC.exhaustions, Statistic: 'Sum', Period: 300,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold', Threshold: 1, EvaluationPeriods: 1, TreatMissingData: 'notBreaching',
    },
    backlogAge: {
      Namespace: METRICS_NAMESPACE, MetricName: METRIC.oldestPendingAge, Statistic: 'Maximum', Period: 300,
      ComparisonOperator: 'GreaterThanThreshold', Threshold: 900, EvaluationPeriods: 1, TreatMissingData: 'notBreaching',
    },
    policyInvalid: {
      Namespace: METRICS_NAMESPACE, MetricName: METRIC.policyInvalid, Statistic: 'Sum', Period: 300,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold', Threshold: 1, EvaluationPeriods: 1, TreatMissingData: 'notBreaching',
    },
    breakerOpen: {
      Namespace: METRICS_NAMESPACE, MetricName: METRIC.oldestOpenBreakerAge, Statistic: 'Maximum', Period: 300,
      ComparisonOperator: 'GreaterThanThreshold', Threshold: 7200, EvaluationPeriods: 1, TreatMissingData: 'notBreaching',
    },
    overBudget: {
      Namespace: METRICS_NAMESPACE, MetricName: METRIC.oldestOverBudgetAge, Statistic: 'Maximum', Period: 300,
      ComparisonOperator: 'GreaterThanThreshold', Threshold: 7200, EvaluationPeriods: 1, TreatMissingData: 'notBreaching',
    },
  };
  const ANCHOR: Record<AlarmKey, string> = {
    deadLetterQueue: RUNBOOK.deadLetterQueue,
    controllerErrors: RUNBOOK.controllerErrors,
    drainErrors: RUNBOOK.drainErrors,
    exhaustion: RUNBOOK.exhaustion,
    backlogAge: RUNBOOK.backlogAge,
    policyInvalid: RUNBOOK.policyInvalid,
    breakerOpen: RUNBOOK.breakerOpen,
    overBudget: RUNBOOK.overBudget,
  };

  test('exactly these nine alarms', () => {
    const t = t0();
    t.template.resourceCountIs('AWS::CloudWatch::Alarm', 9); // and the canary's (ar.canaryAlarm, test/lib/canary.test.ts)
    t.template.resourceCountIs('AWS::CloudWatch::Alarm', 9);
    expect(Object.keys(t.ar.alarms).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  test.each(Object.keys(EXPECTED) as AlarmKey[])('%s: metric, statistic, threshold, operator, periods, missing data', (key) => {
    const t = t0();
    const p = t.alarm(key);
    expect(p).toMatchObject(EXPECTED[key]);
    if (!('DatapointsToAlarm' in EXPECTED[key])) expect(p.DatapointsToAlarm).toBeUndefined();
    expectKnownMetric(alarmMetric(key, p), t);
  });

  test('the Lambda alarms watch their own function', () => {
    const t = t0();
    expect(t.alarm('controllerErrors').Dimensions).toEqual([{ Name: 'FunctionName', Value: { Ref: t.id(t.ar.controller) } }]);
    expect(t.alarm('drainErrors').Dimensions).toEqual([{ Name: 'FunctionName', Value: { Ref: t.id(t.ar.drain) } }]);
  });

  let withUrl: Built | undefined;
  test.each(Object.keys(EXPECTED) as AlarmKey[])('%s: ALARM and OK notify the alarm topic; description with runbook link', (key) => {
    const t = (withUrl ??= build({ runbookUrl: 'https://example.com/README.md' }));
    const p = t.alarm(key);
    expect(p.AlarmActions).toEqual([t.topicRef]);
    expect(p.OKActions).toEqual([t.topicRef]);
    expect(p.ActionsEnabled).not.toBe(false);
    expect(p.AlarmDescription).toMatch(new RegExp(`Runbook: https://example\\.com/README\\.md#${ANCHOR[key]}$`));
    expect(p.AlarmDescription.length).toBeGreaterThan(150);
    expect(p.AlarmDescription.length).toBeLessThanOrEqual(1024);
  });

  test('backlogAgeAlarmThreshold: the prop, its description, the dashboard annotation; default follows a long drainInterval', () => {
    const t = build({ backlogAgeAlarmThreshold: Duration.minutes(30) });
    expect(t.alarm('backlogAge').Threshold).toBe(1800);
    expect(t.alarm('backlogAge').AlarmDescription).toContain('more than 30 minutes overdue');
    const backlog = t.dashboard().widgets.find((w) => w.properties.title === 'Pending backlog and oldest overdue age');
    expect(backlog.properties.annotations.horizontal).toEqual([{ value: 1800, label: 'Alarm threshold', yAxis: 'right' }]);
    const slowDrain = build({ drainInterval: Duration.minutes(20), reconcileEvery: Duration.minutes(20) });
    expect(slowDrain.alarm('backlogAge').Threshold).toBe(2400);
  });

  test('breakerOpenAlarmThreshold: the prop sets the breaker alarm threshold', () => {
    expect(build({ breakerOpenAlarmThreshold: Duration.minutes(45) }).alarm('breakerOpen').Threshold).toBe(2700);
  });
});

// ---- Alarm topic -------------------------------------------------------------------------------

describe('alarm topic', () => {
  test('encrypted with a rotating customer managed key that CloudWatch alarms of this account may use', () => {
    const t = t0();
    const topic = t.resources[t.id(t.ar.alarmTopic)].Properties;
    const keyId = topic.KmsMasterKeyId['Fn::GetAtt'][0] as string;
    expect(topic.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    const key = t.resources[keyId];
    expect(key.Type).toBe('AWS::KMS::Key');
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(key.Properties.KeyPolicy.Statement).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        Condition: {
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
          ArnLike: { 'aws:SourceArn': expect.anything() },
        },
      }),
    );
    const cwKey = key.Properties.KeyPolicy.Statement.find((s: any) => s.Principal?.Service === 'cloudwatch.amazonaws.com');
    expect(flatten(cwKey.Condition.ArnLike['aws:SourceArn'])).toBe(`arn:<AWS::Partition>:cloudwatch:${REGION}:${ACCOUNT}:alarm:*`);
  });

  test('topic policy: SSL only, and CloudWatch alarms of this account may publish', () => {
    const t = t0();
    t.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [t.topicRef],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Principal: '*',
            Action: 'sns:Publish',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: t.topicRef,
            Condition: Match.objectLike({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } }),
          }),
        ]),
      },
    });
  });

  test('no e-mail subscription unless alarmEmail is set', () => {
    t0().template.resourceCountIs('AWS::SNS::Subscription', 0);
    const t = build({ alarmEmail: 'oncall@example.com' });
    t.template.resourceCountIs('AWS::SNS::Subscription', 1);
    t.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
      TopicArn: t.topicRef,
    });
  });

  test('stack: alarmEmail from context; empty means none; outputs AlarmTopicArn and DashboardName', () => {
    const synth = (context: Record<string, unknown>) => Template.fromStack(newAutoRedriveStack(context));
    synth({ [CONTEXT.alarmEmail]: 'oncall@example.com' }).hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
    });
    const none = synth({ [CONTEXT.alarmEmail]: '' });
    none.resourceCountIs('AWS::SNS::Subscription', 0);
    expect(Object.keys(none.toJSON().Outputs)).toEqual(expect.arrayContaining(['AlarmTopicArn', 'DashboardName']));
    expect(() => synth({ [CONTEXT.alarmEmail]: 'oncall' })).toThrow(
      /^Context 'auto-redrive:alarmEmail': AutoRedrive: alarmEmail must be an e-mail address, got 'oncall'$/,
    );
  });
});

// ---- Events out ---------------------------------------------------------------------------------

describe('events:PutEvents', () => {
  const putEvents = (t: Built) =>
    identityStatements(t.template).filter((s) => list(s.Action).some((a) => a === 'events:PutEvents' || a === 'events:*' || a === '*'));

  test('only on the default bus of this account and Region, for both Lambdas', () => {
    const t = t0();
    const st = putEvents(t);
    expect(st).toHaveLength(2);
    expect(resourcesFor(st, 'events:PutEvents')).toEqual([DEFAULT_BUS, DEFAULT_BUS]);
  });

  test('only on the configured bus when eventBus is set', () => {
    const stack = newStack();
    const bus = new events.EventBus(stack, 'Bus');
    new AutoRedrive(stack, 'AutoRedrive', { eventBus: bus });
    const st = putEvents({ template: Template.fromStack(stack) } as Built);
    expect(resourcesFor(st, 'events:PutEvents')).toEqual([`<${logicalIdOf(stack, bus)}.Arn>`, `<${logicalIdOf(stack, bus)}.Arn>`]);
  });

  test('not at all when publishEvents is false', () => {
    expect(putEvents(build({ publishEvents: false }))).toEqual([]);
  });
});

// ---- Validation ---------------------------------------------------------------------------------

describe('validation names the prop', () => {
  test.each([
    ['dashboardName with a space', { dashboardName: 'auto redrive' }, /^AutoRedrive: dashboardName must be 1 to 255 letters, digits, '-' or '_', got 'auto redrive'$/],
    ['empty dashboardName', { dashboardName: '' }, /^AutoRedrive: dashboardName must be/],
    ['runbookUrl with an anchor', { runbookUrl: 'README.md#runbook' }, /^AutoRedrive: runbookUrl must be a URL or path without spaces, parentheses or '#'/],
    ['blank runbookUrl', { runbookUrl: ' ' }, /^AutoRedrive: runbookUrl must be/],
    ['alarmEmail without @', { alarmEmail: 'not-an-address' }, /^AutoRedrive: alarmEmail must be an e-mail address, got 'not-an-address'$/],
    ['backlogAgeAlarmThreshold under a minute', { backlogAgeAlarmThreshold: Duration.seconds(30) }, /^AutoRedrive: backlogAgeAlarmThreshold must be at least 60 seconds, got 30 seconds$/],
    ['backlogAgeAlarmThreshold with milliseconds', { backlogAgeAlarmThreshold: Duration.millis(90_500) }, /^AutoRedrive: backlogAgeAlarmThreshold must be a whole number of seconds/],
    ['breakerOpenAlarmThreshold under 5 minutes', { breakerOpenAlarmThreshold: Duration.minutes(1) }, /^AutoRedrive: breakerOpenAlarmThreshold must be between 300 and 1209600 seconds, got 1 minute$/],
    [
      'backlogAgeAlarmThreshold not longer than drainInterval',
      { backlogAgeAlarmThreshold: Duration.minutes(5), drainInterval: Duration.minutes(5), reconcileEvery: Duration.minutes(15) },
      /^AutoRedrive: backlogAgeAlarmThreshold must be longer than drainInterval \(5 min\)/,
    ],
  ] as Array<[string, AutoRedriveProps, RegExp]>)('%s', (_n, props, message) => {
    expect(() => newAutoRedrive(props, { agnostic: true })).toThrow(message);
  });

  test('tokens are accepted for dashboardName, runbookUrl and alarmEmail', () => {
    const stack = newStack({ agnostic: true });
    const param = (id: string) => new CfnParameter(stack, id).valueAsString;
    expect(
      () => new AutoRedrive(stack, 'AutoRedrive', { dashboardName: param('Name'), runbookUrl: param('Url'), alarmEmail: param('Email') }),
    ).not.toThrow();
  });
});

// ---- cdk-nag -----------------------------------------------------------------------------------

describe('cdk-nag AwsSolutions', () => {
  test.each([
    ['defaults', undefined],
    ['alarm e-mail and listed state machines', { alarmEmail: 'oncall@example.com', stateMachineArns: [ORDERS, BILLING] }],
  ] as Array<[string, AutoRedriveProps | undefined]>)('%s: clean, no CDK warnings', (_n, props) => {
    const t = props ? build(props) : t0();
    expect(nagFindings(t.stack)).toEqual([]);
    expect(annotationProblems(t.stack)).toEqual([]);
  });

  test('observability needs no acknowledgment (KMS5, SNS2, SNS3 are met, not waived)', () => {
    const t = t0();
    const observability = t.ar.node.findChild('Observability');
    expect(acknowledgments(observability)).toEqual([]);
    // Every acknowledgment in the stack still has a written reason.
    expect(acknowledgments(t.stack).filter(([, , reason]) => reason.trim().length < 60)).toEqual([]);
  });
});

/** The default-props build, shared by the read-only tests. */
let defaultBuild: Built | undefined;
function t0(): Built {
  defaultBuild ??= build();
  return defaultBuild;
}
