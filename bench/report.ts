/** The results file's shape, the MUST checks and the Markdown report. */
import type { BurstResult } from './burst';
import type { ColdStartResult } from './cold-start';
import type { OutageRunResult, OutageScenario } from './outage';
import type { CandidateOutcome } from './policy-search';

export interface BenchMeta {
  readonly date: string;
  readonly node: string;
  readonly platform: string;
  readonly arch: string;
  readonly nproc: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  /** os.loadavg() when the run started: other work on the machine skews real-time numbers. */
  readonly loadAverageAtStart: readonly number[];
  readonly command: string;
  readonly scale: 'full' | 'quick';
  readonly durationsMs: Record<string, number>;
  readonly quota: BurstResult['quota'] | null;
  readonly harness: readonly string[];
}

export interface OutageSection {
  readonly scenario: OutageScenario & { readonly outageStart: string };
  readonly model: readonly string[];
  readonly naive: OutageRunResult;
  /** The policy that meets the outage MUST (documented in `policyName` / `policy`). */
  readonly autoRedrive: OutageRunResult & { readonly policyName: string };
  /** auto-redrive with the default policy `{stateMachine:'*'}`. */
  readonly autoRedriveDefault: OutageRunResult;
  /** auto-redrive futile redrives / naive futile redrives (MUST < 0.1). */
  readonly futileRatio: number;
  readonly policySearch: readonly CandidateOutcome[];
}

export interface MustCheck {
  readonly id: string;
  readonly description: string;
  readonly ok: boolean;
  readonly actual: string;
  /** False for checks that only mean something at full scale, in a --quick run. */
  readonly enforced: boolean;
}

export interface BenchResults {
  readonly meta: BenchMeta;
  readonly burst?: BurstResult;
  readonly outage?: OutageSection;
  readonly coldStart?: ColdStartResult;
  readonly musts: readonly MustCheck[];
}

export function checkMusts(r: Omit<BenchResults, 'musts'>): MustCheck[] {
  const musts: Array<Omit<MustCheck, 'enforced'> & { enforced?: boolean }> = [];
  if (r.burst) {
    const b = r.burst;
    musts.push({
      id: 'burst.rate',
      description: 'burst: achieved rate / configured rate >= 0.9',
      ok: b.achievedRateRatio >= 0.9,
      actual: `${b.achievedRateRatio} (${b.achievedRate}/s of ${b.configuredRate}/s)`,
      // A few hundred events are mostly start-up (cold JIT, cold instances).
      enforced: r.meta.scale === 'full',
    });
    musts.push({ id: 'burst.double', description: 'burst: executions redriven twice = 0', ok: b.doubleRedrives === 0, actual: String(b.doubleRedrives) });
    musts.push({ id: 'burst.lost', description: 'burst: failures lost = 0', ok: b.lost === 0, actual: String(b.lost) });
  }
  if (r.outage) {
    const { naive, autoRedrive: auto } = r.outage;
    musts.push({ id: 'outage.recovered', description: `outage: auto-redrive (${auto.policyName}) recovers every retryable execution`, ok: auto.recovered === auto.retryable, actual: `${auto.recovered}/${auto.retryable}` });
    musts.push({
      id: 'outage.futile',
      description: 'outage: auto-redrive futile redrives < 1/10 of the naive redriver\'s',
      ok: auto.futileRedrives * 10 < naive.futileRedrives,
      actual: `${fmt(auto.futileRedrives)} vs ${fmt(naive.futileRedrives)} (ratio ${r.outage.futileRatio})`,
    });
    musts.push({ id: 'outage.badInput', description: 'outage: auto-redrive redrives of bad-input executions = 0', ok: auto.badInputRedrives === 0, actual: String(auto.badInputRedrives) });
    const lost = (auto.autoRedrive?.lostFailures ?? 0) + (r.outage.autoRedriveDefault.autoRedrive?.lostFailures ?? 0);
    musts.push({ id: 'outage.lost', description: 'outage: no failure lost by auto-redrive (every FAILED execution has a recorded skip, a pending redrive or a DLQ entry)', ok: lost === 0, actual: String(lost) });
  }
  return musts.map((m) => ({ ...m, enforced: m.enforced ?? true }));
}

const fmt = (n: number | null | undefined, digits = 0): string =>
  n === null || n === undefined || Number.isNaN(n) ? 'n/a' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
const mib = (bytes: number | undefined) => (bytes === undefined ? 'n/a' : `${(bytes / 1024 / 1024).toFixed(0)} MiB`);
const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const line = (cells: readonly string[]) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

export function renderMarkdown(r: BenchResults): string {
  const out: string[] = [];
  const m = r.meta;
  out.push('# auto-redrive benchmark');
  out.push('');
  out.push(`${m.date} · Node ${m.node} · ${m.platform}/${m.arch} · ${m.nproc} CPUs (${m.cpuModel}) · ${m.memoryGiB} GiB · load average at start ${m.loadAverageAtStart.join(' / ')} · \`${m.command}\`${m.scale === 'quick' ? ' · **quick scale (not the reference numbers)**' : ''}`);
  out.push('');
  out.push(table(['MUST', 'result', 'measured'], r.musts.map((c) => [c.description, c.ok ? 'PASS' : c.enforced ? '**FAIL**' : 'fail (not enforced at quick scale)', c.actual])));

  if (r.burst) {
    const b = r.burst;
    out.push('', '## Burst', '');
    out.push(
      `${fmt(b.events)} FAILED events put on the queue within ${fmt(b.emitSpanMs)} ms, handled by ${b.workers} concurrent controller instances (each its own \`wire()\`), ` +
        `controller rate ${b.configuredRate}/s. Stand-in RedriveExecution bucket ${b.quota.standIn.bucketSize} / ${b.quota.standIn.refillPerSecond} per s ` +
        `= AWS us-east-1 ${b.quota.awsUsEast1.bucketSize} / ${b.quota.awsUsEast1.refillPerSecond} per s × ${b.quota.scale}. Real clock; DynamoDB: dynalite (${b.dynamo === 'process' ? 'own process' : b.dynamo}).`,
    );
    out.push('');
    out.push(
      table(
        ['metric', 'value'],
        [
          ['time to redrive all (first event queued → last redrive accepted)', sec(b.timeToRedriveAllMs)],
          ['achieved rate / configured rate', `${b.achievedRate}/s / ${b.configuredRate}/s = **${b.achievedRateRatio}** (first→last redrive: ${b.steadyRate}/s)`],
          ['most redrives in any 1 s window (at the stand-in)', fmt(b.maxRedrivesInAnySecond)],
          ['latency event queued → RedriveExecution accepted p50 / p90 / p99 / max', `${sec(b.latencyMs.p50)} / ${sec(b.latencyMs.p90)} / ${sec(b.latencyMs.p99)} / ${sec(b.latencyMs.max)}`],
          ['… floor for this burst at exactly the configured rate (FIFO, zero processing time) p50 / p99', `${sec(b.latencyFloorMs.p50)} / ${sec(b.latencyFloorMs.p99)}`],
          ['handler duration p50 / p99 (incl. waiting for its rate slot)', `${fmt(b.handlerMs.p50)} ms / ${fmt(b.handlerMs.p99)} ms`],
          ['Step Functions calls per redrive', `${b.awsCallsPerRedrive} (${Object.entries(b.stepFunctionsCalls).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')})`],
          ['DynamoDB calls per redrive', `${b.dynamoCallsPerRedrive} (${Object.entries(b.dynamoCalls.byPurpose).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')})`],
          ['ThrottlingExceptions', fmt(b.throttlingExceptions)],
          ['redriven / executions redriven twice / lost / dead-lettered', `${fmt(b.redriven)} / ${b.doubleRedrives} / ${b.lost} / ${b.deadLettered}`],
          ['ledger records', Object.entries(b.ledger).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')],
          ['executions SUCCEEDED after their redrive', fmt(b.executionsSucceededAfterRedrive)],
          ['peak RSS (this process; dynalite process)', `${mib(b.peakRssBytes)}; ${mib(b.dynamoProcess?.maxRssBytes)}`],
          ['CPU (this process; dynalite process)', `${sec(b.cpuMs)}; ${b.dynamoProcess ? sec(b.dynamoProcess.cpuMs) : 'n/a'}`],
        ],
      ),
    );
  }

  if (r.outage) {
    const o = r.outage;
    const s = o.scenario;
    const runs = [o.naive, o.autoRedriveDefault, o.autoRedrive];
    out.push('', '## Outage (simulated time)', '');
    out.push(
      `${fmt(s.executions)} executions of ${s.stateMachines} state machines start during a ${s.outageMinutes}-minute downstream outage and fail; ` +
        `${Math.round(s.badInputShare * 100)}% also have bad input (States.Runtime on every run). Seed ${s.seed}. Same scenario for each column, each in its own local environment.`,
    );
    out.push('');
    const policyText = (x: OutageRunResult) => {
      if (!x.policy) return 'every FAILED event → RedriveExecution';
      const shown = { ...x.policy };
      delete shown.description;
      return `\`${JSON.stringify(shown)}\``;
    };
    out.push(
      table(
        ['', 'naive redriver', 'auto-redrive, default policy', `auto-redrive, ${o.autoRedrive.policyName}`],
        [
          ['policy', ...runs.map(policyText)],
          ['retryable', ...runs.map((x) => fmt(x.retryable))],
          ['recovered', ...runs.map((x) => `${fmt(x.recovered)}${x.recovered === x.retryable ? '' : ` (**${fmt(x.retryable - x.recovered)} not**)`}`)],
          ['futileRedrives (redrives that failed again)', ...runs.map((x) => fmt(x.futileRedrives))],
          ['  of which bad-input', ...runs.map((x) => fmt(x.futileRedrives - x.futileRedrivesOfRetryable))],
          ['badInputRedrives', ...runs.map((x) => fmt(x.badInputRedrives))],
          ['redrives', ...runs.map((x) => fmt(x.redrives))],
          ['stateTransitions (≈ USD at $0.025/1k)', ...runs.map((x) => `${fmt(x.stateTransitions)} ($${x.stateTransitionsUsd.toFixed(2)})`)],
          ['maxRedrivesOneExecution (retryable only)', ...runs.map((x) => `${fmt(x.maxRedrivesOneExecution)} (${fmt(x.maxRedrivesOneRetryableExecution)})`)],
          ['minutesToRecoverAfterOutage (outage end → last recovery)', ...runs.map((x) => fmt(x.minutesToRecoverAfterOutage, 1))],
          ['Step Functions API calls', ...runs.map((x) => Object.entries(x.stepFunctionsCalls).filter(([k]) => k !== 'CreateStateMachine' && k !== 'StartExecution').map(([k, v]) => `${k} ${fmt(v)}`).join(', '))],
          ['ThrottlingExceptions', ...runs.map((x) => fmt(x.throttlingExceptions))],
          ['given up on (owner notified) / lost', ...runs.map((x) => (x.autoRedrive ? `${Object.entries(x.autoRedrive.skipReasons).map(([k, v]) => `${k} ${v}`).join(', ') || '0'} / ${x.autoRedrive.lostFailures}` : 'n/a (no record)'))],
          ['wall time of the simulation', ...runs.map((x) => sec(x.wallMs))],
        ],
      ),
    );
    const n = o.naive.naive;
    if (n) {
      out.push('');
      out.push(
        `Naive redriver safety stop (not part of the samples it models): at most ${n.safetyStop.maxRedrivesPerExecution} redrives per execution and none after outage end + ${n.safetyStop.stopAfterOutageEndMinutes} min. ` +
          `It stopped ${n.executionsStoppedByCap} executions (${n.retryableStoppedByCap} retryable, i.e. only bad-input ones) and ignored ${n.eventsIgnoredAfterStopTime} events after the stop time. ` +
          `Without the cap, each bad-input execution would be redriven about every ${s.deliverySeconds} s until its history reached 25,000 events: ~${fmt(n.uncappedBadInputRedrivesPerExecution)} redrives each (so the naive futile count above is a lower bound). ` +
          `One naive loop during the outage takes ${n.loopSeconds} s (${s.failingRunSeconds} s failing run + ${s.deliverySeconds} s delivery); a faster-failing Task makes the naive numbers proportionally worse.`,
      );
    }
    out.push('');
    out.push(`Futile redrives, auto-redrive (${o.autoRedrive.policyName}) / naive: **${o.futileRatio}**. Chart: [outage.svg](outage.svg).`);
    out.push('', 'Model:', '', ...o.model.map((line) => `- ${line}`));
    out.push('', '### Finding the outage policy (analytic replay, same scenario, controller\'s own backoff and jitter)', '');
    out.push(
      table(
        ['candidate', 'policy', 'predicted not recovered', 'predicted futile', 'predicted min to recover', 'not recovered with independent jitter', 'jitter spread within one execution'],
        o.policySearch.map((c) => [
          c.name,
          `\`${JSON.stringify(c.policy)}\``,
          fmt(c.predicted.unrecovered),
          fmt(c.predicted.futileRedrives),
          fmt(c.predicted.minutesToRecoverAfterOutage, 1),
          fmt(c.independentJitter.unrecovered),
          String(c.meanJitterSpreadWithinExecution),
        ]),
      ),
    );
  }

  if (r.coldStart) {
    const c = r.coldStart;
    out.push('', '## Cold start (bundles from cdk.out)', '');
    out.push(`cdk synth: ${c.synth} (${sec(c.synthMs)}). Module init = \`require()\` of the bundle in a fresh \`node\` (${c.localNode} on this machine), median of ${c.runsPerFunction} processes.`);
    out.push('');
    out.push(
      table(
        ['function', 'runtime / arch / memory', 'index.js bytes (gzip)', 'init median, template env', 'init median, without NODE_OPTIONS'],
        Object.entries(c.functions).map(([name, f]) => [
          name,
          `${f.runtime} / ${f.architecture} / ${f.memoryMb} MB`,
          `${fmt(f.bundleBytes)} (${fmt(f.bundleGzipBytes)})`,
          `${f.initMsMedian} ms${f.nodeOptions ? ` (NODE_OPTIONS=${f.nodeOptions})` : ''}`,
          `${f.initMsMedianWithoutNodeOptions} ms`,
        ]),
      ),
    );
  }

  out.push('', '## Harness', '', ...m.harness.map((line) => `- ${line}`));
  out.push('', `Durations: ${Object.entries(m.durationsMs).map(([k, v]) => `${k} ${sec(v)}`).join(', ')}.`, '');
  return out.join('\n');
}
