/**
 * The logging and metrics ports: in Lambda one JSON log line per call and one EMF document
 * per data point (each with its own dimensions), in tests and local runs plain memory.
 */
import { METRIC, METRICS_NAMESPACE, SERVICE_NAME } from '../../../contract/metrics';
import { InMemoryMetrics, MemoryLog, type LogLine, PowertoolsLog, PowertoolsMetrics } from '../../../lambda/observability/telemetry';

/** What `run` wrote to stdout and stderr (Powertools writes warnings and errors there), one parsed JSON document per line. */
function outputOf(run: () => void): Record<string, any>[] {
  const out: string[] = [];
  const capture = (chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  };
  const spies = [jest.spyOn(process.stdout, 'write').mockImplementation(capture), jest.spyOn(process.stderr, 'write').mockImplementation(capture)];
  try {
    run();
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return out.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

describe('PowertoolsMetrics (EMF)', () => {
  it('writes one EMF document per data point, in the namespace, with that point’s dimensions and unit', () => {
    const docs = outputOf(() => {
      const metrics = new PowertoolsMetrics();
      metrics.count(METRIC.decisions, { Outcome: 'skip', Reason: 'paused' }, 2);
      metrics.milliseconds(METRIC.redriveLatency, 120);
      metrics.seconds(METRIC.oldestPendingAge, 5);
    });
    expect(docs.map((d) => d._aws.CloudWatchMetrics)).toEqual([
      [{ Namespace: METRICS_NAMESPACE, Dimensions: [['service', 'Outcome', 'Reason']], Metrics: [{ Name: METRIC.decisions, Unit: 'Count' }] }],
      [{ Namespace: METRICS_NAMESPACE, Dimensions: [['service']], Metrics: [{ Name: METRIC.redriveLatency, Unit: 'Milliseconds' }] }],
      [{ Namespace: METRICS_NAMESPACE, Dimensions: [['service']], Metrics: [{ Name: METRIC.oldestPendingAge, Unit: 'Seconds' }] }],
    ]);
    expect(docs[0]).toMatchObject({ service: SERVICE_NAME, Outcome: 'skip', Reason: 'paused', [METRIC.decisions]: 2 });
    expect(docs[1][METRIC.redriveLatency]).toBe(120);
    expect(docs[2][METRIC.oldestPendingAge]).toBe(5);
  });
});

describe('PowertoolsLog', () => {
  it.each(['info', 'warn', 'error'] as const)('%s: one JSON line with the level, the service and the attributes', (level) => {
    const [line] = outputOf(() => new PowertoolsLog()[level]('decision', { executionArn: 'arn:x', redriveCount: 1 }));
    expect(line).toMatchObject({ level: level.toUpperCase(), message: 'decision', service: SERVICE_NAME, executionArn: 'arn:x', redriveCount: 1 });
  });
});

describe('InMemoryMetrics', () => {
  it('keeps every point; sum() adds a metric up, optionally where the dimensions include some', () => {
    const m = new InMemoryMetrics();
    m.count(METRIC.decisions, { Outcome: 'skip', Reason: 'paused' });
    m.count(METRIC.decisions, { Outcome: 'redrive', Reason: 'no-delay' }, 3);
    m.seconds(METRIC.oldestPendingAge, 7);
    expect(m.points).toEqual([
      { name: METRIC.decisions, value: 1, unit: 'Count', dimensions: { Outcome: 'skip', Reason: 'paused' } },
      { name: METRIC.decisions, value: 3, unit: 'Count', dimensions: { Outcome: 'redrive', Reason: 'no-delay' } },
      { name: METRIC.oldestPendingAge, value: 7, unit: 'Seconds', dimensions: {} },
    ]);
    expect(m.sum(METRIC.decisions)).toBe(4);
    expect(m.sum(METRIC.decisions, { Outcome: 'redrive' })).toBe(3);
    expect(m.sum(METRIC.redrives)).toBe(0);
  });
});

describe('MemoryLog', () => {
  it('keeps the lines in order and forwards each one', () => {
    const forwarded: LogLine[] = [];
    const log = new MemoryLog((line) => forwarded.push(line));
    log.debug('a');
    log.info('b', { x: 1 });
    log.warn('c');
    log.error('d', { y: 2 });
    expect(log.lines).toEqual([
      { level: 'debug', message: 'a', attributes: {} },
      { level: 'info', message: 'b', attributes: { x: 1 } },
      { level: 'warn', message: 'c', attributes: {} },
      { level: 'error', message: 'd', attributes: { y: 2 } },
    ]);
    expect(forwarded).toEqual(log.lines);
  });
});
