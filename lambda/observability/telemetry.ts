/**
 * The controller's logging and metrics ports. In Lambda they are Powertools Logger and
 * Metrics (EMF); locally and in tests an in-memory recorder, so `npm start` and the
 * benchmarks can read the same numbers the dashboard would show.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE, SERVICE_NAME, type MetricName } from '../../contract/metrics';

/** Structured log lines. Never pass execution input or output here. */
export interface Log {
  debug(message: string, attributes?: Record<string, unknown>): void;
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
  error(message: string, attributes?: Record<string, unknown>): void;
}

export type Dimensions = Readonly<Record<string, string>>;

export interface MetricsRecorder {
  count(name: MetricName, dimensions?: Dimensions, value?: number): void;
  milliseconds(name: MetricName, value: number, dimensions?: Dimensions): void;
  seconds(name: MetricName, value: number, dimensions?: Dimensions): void;
  /** Emits what was recorded (EMF) at the end of an invocation. */
  flush(): void;
}

/** Powertools Logger behind the `Log` port: one JSON line per call, with the attributes. */
export class PowertoolsLog implements Log {
  constructor(private readonly logger: Logger = new Logger({ serviceName: SERVICE_NAME })) {}
  debug(message: string, attributes: Record<string, unknown> = {}): void {
    this.logger.debug(message, attributes);
  }
  info(message: string, attributes: Record<string, unknown> = {}): void {
    this.logger.info(message, attributes);
  }
  warn(message: string, attributes: Record<string, unknown> = {}): void {
    this.logger.warn(message, attributes);
  }
  error(message: string, attributes: Record<string, unknown> = {}): void {
    this.logger.error(message, attributes);
  }
}

/** EMF through Powertools; each data point with its own dimension set. */
export class PowertoolsMetrics implements MetricsRecorder {
  private readonly metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });

  count(name: MetricName, dimensions: Dimensions = {}, value = 1): void {
    this.point(name, MetricUnit.Count, value, dimensions);
  }
  milliseconds(name: MetricName, value: number, dimensions: Dimensions = {}): void {
    this.point(name, MetricUnit.Milliseconds, value, dimensions);
  }
  seconds(name: MetricName, value: number, dimensions: Dimensions = {}): void {
    this.point(name, MetricUnit.Seconds, value, dimensions);
  }
  flush(): void {
    this.metrics.publishStoredMetrics();
  }

  private point(name: MetricName, unit: (typeof MetricUnit)[keyof typeof MetricUnit], value: number, dimensions: Dimensions): void {
    const single = this.metrics.singleMetric();
    for (const [k, v] of Object.entries(dimensions)) single.addDimension(k, v);
    single.addMetric(name, unit, value);
  }
}

export interface RecordedMetric {
  readonly name: MetricName;
  readonly value: number;
  readonly unit: 'Count' | 'Milliseconds' | 'Seconds';
  readonly dimensions: Dimensions;
}

/** Keeps every data point in memory (local runs, tests, benchmarks). */
export class InMemoryMetrics implements MetricsRecorder {
  readonly points: RecordedMetric[] = [];
  count(name: MetricName, dimensions: Dimensions = {}, value = 1): void {
    this.points.push({ name, value, unit: 'Count', dimensions });
  }
  milliseconds(name: MetricName, value: number, dimensions: Dimensions = {}): void {
    this.points.push({ name, value, unit: 'Milliseconds', dimensions });
  }
  seconds(name: MetricName, value: number, dimensions: Dimensions = {}): void {
    this.points.push({ name, value, unit: 'Seconds', dimensions });
  }
  flush(): void {}
  /** Sum of a metric, optionally only the points whose dimensions include `where`. */
  sum(name: MetricName, where: Dimensions = {}): number {
    return this.points
      .filter((p) => p.name === name && Object.entries(where).every(([k, v]) => p.dimensions[k] === v))
      .reduce((s, p) => s + p.value, 0);
  }
}

export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly attributes: Record<string, unknown>;
}

/** Keeps log lines in memory; optionally forwards them (e.g. to print a timeline). */
export class MemoryLog implements Log {
  readonly lines: LogLine[] = [];
  constructor(private readonly forward?: (line: LogLine) => void) {}
  debug(message: string, attributes: Record<string, unknown> = {}): void {
    this.push({ level: 'debug', message, attributes });
  }
  info(message: string, attributes: Record<string, unknown> = {}): void {
    this.push({ level: 'info', message, attributes });
  }
  warn(message: string, attributes: Record<string, unknown> = {}): void {
    this.push({ level: 'warn', message, attributes });
  }
  error(message: string, attributes: Record<string, unknown> = {}): void {
    this.push({ level: 'error', message, attributes });
  }
  private push(line: LogLine): void {
    this.lines.push(line);
    this.forward?.(line);
  }
}
