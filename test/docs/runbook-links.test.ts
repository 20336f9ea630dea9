/**
 * Every runbook link the stack emits lands on a section that exists: the alarm
 * descriptions and the dashboard link to `<runbookUrl>#runbook-...`, and with the default
 * runbookUrl that must be a heading of docs/runbook.md (GitHub derives anchors from
 * headings, so renaming a heading silently breaks the links in the console).
 */
import * as path from 'path';
import { Template } from 'aws-cdk-lib/assertions';
import { AutoRedriveStack } from '../../lib/auto-redrive-stack';
import { RUNBOOK } from '../../lib/observability';
import { ACCOUNT, REGION, flatten, newApp, removeOutdirs } from '../lib/helpers';
import { anchorsOf, ROOT } from './markdown';

afterAll(removeOutdirs);

const RUNBOOK_PAGE = 'docs/runbook.md';

/** `<file>#runbook...` references in a text, as [file part, anchor]. */
function runbookLinks(text: string): Array<[string, string]> {
  return [...text.matchAll(/([^\s()[\]"'<>]*)#(runbook[a-z0-9-]*)/g)].map((m) => [m[1], m[2]]);
}

describe('runbook links emitted by AutoRedriveStack (default props)', () => {
  const app = newApp();
  const stack = new AutoRedriveStack(app, 'AutoRedrive', { env: { account: ACCOUNT, region: REGION } });
  const template = Template.fromStack(stack);
  const anchors = anchorsOf(path.join(ROOT, RUNBOOK_PAGE));

  const alarms = Object.entries(template.findResources('AWS::CloudWatch::Alarm'));
  const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  const fromAlarms = alarms.map(([id, r]) => [id, runbookLinks(flatten(r.Properties.AlarmDescription))] as const);
  const fromDashboard = dashboards.flatMap((d) => runbookLinks(flatten(d.Properties.DashboardBody)));
  const emitted = [...fromAlarms.flatMap(([, l]) => l), ...fromDashboard];

  test('every alarm description and the dashboard link to the runbook', () => {
    expect(alarms.length).toBeGreaterThan(0);
    expect(fromAlarms.filter(([, l]) => l.length === 0).map(([id]) => id)).toEqual([]);
    expect(dashboards).toHaveLength(1);
    expect(fromDashboard.length).toBeGreaterThan(0);
  });

  test(`every emitted link points to ${RUNBOOK_PAGE}`, () => {
    const elsewhere = emitted.filter(([file]) => file !== RUNBOOK_PAGE).map(([file, anchor]) => `${file}#${anchor}`);
    expect([...new Set(elsewhere)]).toEqual([]);
  });

  test(`every emitted anchor is a heading of ${RUNBOOK_PAGE}`, () => {
    const missing = emitted.filter(([, anchor]) => !anchors.has(anchor)).map(([, anchor]) => anchor);
    expect([...new Set(missing)]).toEqual([]);
  });

  test('the dashboard links every section of RUNBOOK, and each is a heading', () => {
    const linked = new Set(fromDashboard.map(([, anchor]) => anchor));
    for (const anchor of Object.values(RUNBOOK)) {
      expect(linked).toContain(anchor);
      expect(anchors).toContain(anchor);
    }
  });
});
