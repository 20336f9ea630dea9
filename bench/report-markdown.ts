/** The Markdown report of a bench run (bench/results/latest.md). */
import type { HotKey } from '../local/partition-model';
import type { BurstResult } from './burst';
import type { OutageRunResult } from './outage';
import { type BenchResults, GOALS, type OutageComparison } from './report';
import { fmt } from './stats';

const mib = (bytes: number | undefined) => (bytes === undefined ? 'n/a' : `${(bytes / 1024 / 1024).toFixed(0)} MiB`);
const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const NA = 'n/a';
const NOT_MEASURED = 'not measured';

function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const line = (cells: readonly string[]) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

type BreakerFigures = NonNullable<OutageRunResult['autoRedrive']>['breaker'];
const breakerText = (b: BreakerFigures) =>
  `${fmt(b.opened)} / ${fmt(Object.values(b.closed).reduce((n, v) => n + v, 0))}${Object.keys(b.closed).length ? ` (${Object.entries(b.closed).map(([k, v]) => `${k} ${v}`).join(', ')})` : ''} / ${fmt(b.probes.started ?? 0)}, ${fmt(b.probes['same-error'] ?? 0)} / ${fmt(b.heldDecisions)}`;

const withoutDescription = (policy: Record<string, unknown>) => Object.fromEntries(Object.entries(policy).filter(([k]) => k !== 'description'));
const signed = (n: number | null) => (n !== null && n >= 0 ? `+${fmt(n, 1)}` : fmt(n, 1));
const ofRetryable = (x: OutageRunResult | undefined) => (x ? `${fmt(x.recovered)} / ${fmt(x.retryable)}` : NOT_MEASURED);
const field = <T>(x: T | undefined, f: (v: T) => string) => (x ? f(x) : NOT_MEASURED);

/** The issue's table: one row per figure, one column per redriver. */
function summary(r: BenchResults): string {
  const rows: string[][] = [];
  const outages = [r.outage30, r.outage120].filter((o): o is OutageComparison => o !== undefined);
  const name = (o: OutageComparison) => (o.scenario.outageMinutes % 60 === 0 ? `${o.scenario.outageMinutes / 60}-hour` : `${o.scenario.outageMinutes}-min`);
  const each = (o: OutageComparison, f: (x: OutageRunResult) => string) => [f(o.naive), f(o.breakerOff), field(o.breakerOn, f)];
  for (const o of outages) rows.push([`${name(o)} outage: retryable executions recovered`, ofRetryable(o.naive), ofRetryable(o.breakerOff), ofRetryable(o.breakerOn)]);
  for (const o of outages) rows.push([`futile redrives, ${name(o)} outage`, ...each(o, (x) => fmt(x.futileRedrives))]);
  for (const o of outages) rows.push([`minutes from outage end to last recovery, ${name(o)} outage`, ...each(o, (x) => fmt(x.minutesToRecoverAfterOutage, 1))]);
  for (const o of outages) rows.push([`redrives of bad-input executions, ${name(o)} outage`, ...each(o, (x) => fmt(x.badInputRedrives))]);
  for (const o of outages) rows.push([`failures lost, ${name(o)} outage`, ...each(o, (x) => fmt(x.lost))]);
  if (r.trickle) {
    const t = r.trickle;
    rows.push(['trickle: failed executions recovered', NA, `${fmt(t.breakerOff.recovered)} / ${fmt(t.breakerOff.retryable)}`, field(t.breakerOn, (x) => `${fmt(x.recovered)} / ${fmt(x.retryable)}`)]);
    rows.push(['trickle: median delay failure → successful redrive', NA, `${fmt(t.breakerOff.medianDelaySeconds, 1)} s`, field(t.breakerOn, (x) => `${fmt(x.medianDelaySeconds, 1)} s (${signed(t.addedMedianDelaySeconds)} s)`)]);
  }
  if (r.burst || r.burstDefault) {
    const plain = (x: NonNullable<BenchResults['burst']>) => `${fmt(x.redriven)} / ${fmt(x.held ?? 0)}; ${x.achievedRateRatio}; ${x.dynamoCallsPerRedrive}`;
    rows.push(['plain burst (maxRedrives 1): redriven / held; rate / configured; DynamoDB calls per redrive', NA, field(r.burst, plain), field(r.burstDefault, plain)]);
  }
  if (r.burst || r.burstHeld) {
    const h = r.burstHeld;
    rows.push(['burst of same-error failures: release rate / configured', NA, NA, field(h, (x) => String(x.releaseRateRatio))]);
    rows.push(['burst of same-error failures: lost / redriven twice', NA, r.burst ? `${r.burst.lost} / ${r.burst.doubleRedrives}` : NA, field(h, (x) => `${x.lost} / ${x.doubleRedrives}`)]);
    rows.push([
      'burst: DynamoDB calls per failure on the event path',
      NA,
      r.burst ? `${r.burst.dynamoCallsPerRedrive} (per redrive)` : NA,
      field(h, (x) => `${x.dynamoCallsPerFailure} (per held failure)`),
    ]);
  }
  return table(['figure', 'naive', 'breaker off', 'breaker on'], rows);
}

function stormSection(r: BenchResults): string[] {
  const s = r.storm!;
  const sc = s.scenario;
  const hot = s.hottestKeyWritesPerSecond;
  const out = ['', `## Storm: ${fmt(s.failures)} failures in ${sc.stormSeconds} s, partition model on (simulated time)`, ''];
  out.push(
    `${fmt(s.failures)} executions of ${sc.stateMachines} state machines fail within ${sc.stormSeconds} s (a region-wide dependency outage; ${sc.badInputShare * 100}% bad input); ` +
      `the dependency recovers ${sc.outageAfterStormMinutes} min later. Default policy, breaker on, ${sc.ratePerSecond} redrives/s, ${sc.instances} controller instances; ` +
      `DynamoDB limited to ${fmt(GOALS.stormHottestKeyWritesPerSecond)} write units/s per partition key (table and byDue index).`,
  );
  out.push('');
  out.push(
    table(
      ['figure', 'value', 'goal'],
      [
        ['lost / redriven twice / dead-lettered', `${fmt(s.lost)} / ${fmt(s.doubleRedrives)} / ${fmt(s.deadLettered)}`, '0 / 0 / 0'],
        ['hottest partition key, write units in its busiest second', hot ? `**${fmt(hot.writesPerSecond)}** (${hot.resource}, \`${hot.key}\`)` : NA, `<= ${fmt(GOALS.stormHottestKeyWritesPerSecond)}`],
        ['requests throttled by the partition model', fmt(s.throttledRequests), '0'],
        ['time ratio: first release → last recovery, over retryable / configured rate', `**${fmt(s.timeRatio, 3)}** (${fmt(s.releaseSeconds, 1)} s vs ${fmt(s.idealReleaseSeconds, 1)} s)`, `<= ${GOALS.stormTimeRatio}`],
        ['retryable recovered', `${fmt(s.recovered)} / ${fmt(s.retryable)}`, 'all'],
        ['minutes from outage end to last recovery', fmt(s.minutesToRecoverAfterOutage, 1), ''],
        ['redrives / futile / of bad input', `${fmt(s.redrives)} / ${fmt(s.futileRedrives)} / ${fmt(s.badInputRedrives)}`, ''],
        ['breaker: opened / closed (why) / probes started, same error / holds recorded', s.breaker ? breakerText(s.breaker) : NA, ''],
        ['ledger records', Object.entries(s.ledger).map(([k, v]) => `${k} ${fmt(v)}`).join(', '), ''],
        ['DynamoDB calls', `${fmt(s.dynamoCalls)} (${Object.entries(s.dynamoCallsByPurpose).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')})`, ''],
        ['simulated minutes; wall time; CPU; peak RSS', `${fmt(s.simulatedMinutes, 1)}; ${sec(s.wallMs)}; ${sec(s.cpuMs)}; ${mib(s.maxRssBytes)}`, ''],
      ],
    ),
  );
  if (s.partitions) {
    out.push('', 'Busiest partition key of each table and index, and the ten busiest overall (write units in the busiest simulated second; throttled attempts included):', '');
    const rows = (keys: readonly HotKey[]) =>
      keys.map((k) => [k.resource, `\`${k.key}\``, fmt(k.writesPerSecond), fmt(k.admittedWritesPerSecond), fmt(k.throttledRequests)]);
    const header = ['table / index', 'partition key', 'asked /s', 'admitted /s', 'throttled requests'];
    out.push(table(header, rows(s.partitions.hottest)), '', table(header, rows(s.partitions.top)));
  }
  out.push('', 'Storm model:', '', ...(r.meta.models.storm ?? []).map((line) => `- ${line}`));
  return out;
}

function breakerFuzzSection(r: BenchResults): string[] {
  const f = r.breakerFuzz!;
  const out = ['', `## Breaker fuzz: ${fmt(f.worlds)} random worlds, breaker off vs on (simulated time, seed ${f.seed})`, ''];
  out.push(
    'Each world (state machines sharing error names or not, groups of 1 to 500, runs of seconds to 2 hours, outages up to 6 hours, poisoned, bad-input and flaky executions, ' +
      'policies from the default to long schedules, people pausing, releasing and editing policies) runs twice through the real controller code, breaker off and on; ' +
      'each execution is compared ([docs/benchmarks-breaker.md](../../docs/benchmarks-breaker.md#breaker-fuzz)).',
    '',
  );
  out.push(
    table(
      ['figure', 'value', 'goal'],
      [
        ['executions worse off with the breaker (a not recovered / b given up earlier / c redriven before the backoff)', `**${fmt(f.worseOff)}** (${f.worseOffByRule.a} / ${f.worseOffByRule.b} / ${f.worseOffByRule.c}) in ${fmt(f.failingWorlds)} worlds`, '0'],
        [
          'counted apart, not worse off: followed a later policy edit / an outage began during its last run / never touched by the breaker / recovered with it off in an up-window the breaker could not use within its contract',
          `${fmt(f.followedPolicyEdit)} / ${fmt(f.outageBeganDuringRun)} / ${fmt(f.untouchedByBreaker)} / ${fmt(f.upWindowNotUsable ?? 0)}`,
          '',
        ],
        ['better off with the breaker (recovered on, not off)', fmt(f.betterOff ?? 0), ''],
        ['lost / redriven twice / dead-lettered (both arms)', `${fmt(f.lost)} / ${fmt(f.doubleRedrives)} / ${fmt(f.deadLettered)}`, '0 / 0 / 0'],
        ['futile redrives on / off', `${fmt(f.futileOn)} / ${fmt(f.futileOff)}`, 'on <= off'],
        ['redrives on / off', `${fmt(f.redrivesOn)} / ${fmt(f.redrivesOff)}`, ''],
        ['recovery delay added (recovered in both arms): median / p90', `${fmt(f.medianDelayAddedSeconds, 1)} s / ${fmt(f.p90DelayAddedSeconds, 1)} s`, ''],
        ['Breaker Opened events / of them for state machines with no outage', `${fmt(f.breakerOpenings)} / ${fmt(f.openingsWithoutOutage)}`, ''],
        ['executions; worlds unsettled at the 15-day horizon; wall time', `${fmt(f.executions)}; ${fmt(f.unsettledWorlds)}; ${fmt(f.wallSeconds, 1)} s`, ''],
      ],
    ),
  );
  if (f.mechanisms.length) {
    out.push('', 'Worse-off executions by world family and mechanism (first 15):', '');
    out.push(table(['family', 'rule', 'mechanism', 'executions', 'worlds', 'reproduce'], f.mechanisms.slice(0, 15).map((m) => [m.family, m.rule, m.mechanism, fmt(m.executions), fmt(m.worlds), `\`${m.examples[0]}\``])));
  }
  return out;
}

function outageSection(o: OutageComparison): string[] {
  const out: string[] = [];
  const s = o.scenario;
  const runs = [o.naive, o.breakerOff, o.breakerOn];
  const col = (f: (x: OutageRunResult) => string) => runs.map((x) => field(x, f));
  out.push('', `## Outage, ${s.outageMinutes} minutes (\`${s.name}\`, simulated time)`, '');
  out.push(
    `${fmt(s.executions)} executions of ${s.stateMachines} state machines start during a ${s.outageMinutes}-minute downstream outage and fail; ` +
      `${Math.round(s.badInputShare * 100)}% also have bad input (States.Runtime on every run). Seed ${s.seed}. Same scenario for each column, each in its own local environment.`,
  );
  out.push('');
  const policyText = (x: OutageRunResult) => (x.policy ? `\`${JSON.stringify(withoutDescription(x.policy))}\`` : 'every FAILED event → RedriveExecution');
  out.push(
    table(
      ['', 'naive', 'breaker off', 'breaker on'],
      [
        ['policy', ...col(policyText)],
        ['retryable', ...col((x) => fmt(x.retryable))],
        ['recovered', ...col((x) => `${fmt(x.recovered)}${x.recovered === x.retryable ? '' : ` (**${fmt(x.retryable - x.recovered)} not**)`}`)],
        ['futileRedrives (redrives that failed again)', ...col((x) => fmt(x.futileRedrives))],
        ['  of which bad-input', ...col((x) => fmt(x.futileRedrives - x.futileRedrivesOfRetryable))],
        ['badInputRedrives', ...col((x) => fmt(x.badInputRedrives))],
        ['lost', ...col((x) => fmt(x.lost))],
        ['redrives', ...col((x) => fmt(x.redrives))],
        ['stateTransitions (≈ USD at $0.025/1k)', ...col((x) => `${fmt(x.stateTransitions)} ($${x.stateTransitionsUsd.toFixed(2)})`)],
        ['maxRedrivesOneExecution (retryable only)', ...col((x) => `${fmt(x.maxRedrivesOneExecution)} (${fmt(x.maxRedrivesOneRetryableExecution)})`)],
        ['minutesToRecoverAfterOutage (outage end → last recovery)', ...col((x) => fmt(x.minutesToRecoverAfterOutage, 1))],
        ['Step Functions API calls', ...col((x) => Object.entries(x.stepFunctionsCalls).filter(([k]) => k !== 'CreateStateMachine' && k !== 'StartExecution').map(([k, v]) => `${k} ${fmt(v)}`).join(', '))],
        ['ThrottlingExceptions', ...col((x) => fmt(x.throttlingExceptions))],
        ['ledger records', ...col((x) => (x.autoRedrive ? Object.entries(x.autoRedrive.ledger).map(([k, v]) => `${k} ${fmt(v)}`).join(', ') : 'n/a (no record)'))],
        ['given up on (owner notified)', ...col((x) => (x.autoRedrive ? Object.entries(x.autoRedrive.skipReasons).map(([k, v]) => `${k} ${v}`).join(', ') || '0' : 'n/a (no record)'))],
        ['owner events', ...col((x) => (x.autoRedrive ? Object.entries(x.autoRedrive.ownerNotifications).map(([k, v]) => `${k} ${v}`).join(', ') || '0' : 'n/a'))],
        ['breaker: opened / closed (why) / probes started, same error / holds recorded', ...col((x) => (x.autoRedrive ? breakerText(x.autoRedrive.breaker) : 'n/a'))],
        ['DynamoDB calls', ...col((x) => (x.autoRedrive ? fmt(x.autoRedrive.dynamoCalls) : 'n/a'))],
        ['wall time of the simulation', ...col((x) => sec(x.wallMs))],
      ],
    ),
  );
  const n = o.naive.naive;
  if (n) {
    out.push('');
    out.push(
      `Naive redriver safety stop (not part of the samples it models): at most ${n.safetyStop.maxRedrivesPerExecution} redrives per execution and none after outage end + ${n.safetyStop.stopAfterOutageEndMinutes} min. ` +
        `It stopped ${n.executionsStoppedByCap} executions (${n.retryableStoppedByCap} retryable) and ignored ${n.eventsIgnoredAfterStopTime} events after the stop time. ` +
        `Without the cap, each bad-input execution would be redriven about every ${s.deliverySeconds} s until its history reached 25,000 events: ~${fmt(n.uncappedBadInputRedrivesPerExecution)} redrives each (so the naive futile count above is a lower bound). ` +
        `One naive loop during the outage takes ${n.loopSeconds} s (${s.failingRunSeconds} s failing run + ${s.deliverySeconds} s delivery); a faster-failing Task makes the naive numbers proportionally worse. ` +
        'The naive redriver keeps no record, so every execution it leaves FAILED counts as lost.',
    );
  }
  out.push('');
  out.push(`Futile redrives, breaker on / naive: **${fmt(o.futileRatio, 4)}**. Chart: [outage.svg](outage.svg).`);
  out.push('', '### Fixed policies on this outage, without a breaker (analytic replay, controller\'s own backoff and jitter)', '');
  out.push(
    table(
      ['candidate', 'policy', 'predicted not recovered', 'predicted futile', 'predicted min to recover', 'not recovered with independent jitter'],
      o.policySearch.map((c) => [c.name, `\`${JSON.stringify(c.policy)}\``, fmt(c.predicted.unrecovered), fmt(c.predicted.futileRedrives), fmt(c.predicted.minutesToRecoverAfterOutage, 1), fmt(c.independentJitter.unrecovered)]),
    ),
  );
  return out;
}

function burstSection(title: string, b: BurstResult): string[] {
  const out: string[] = ['', `## ${title}`, ''];
  if (b.policy) out.push(`Policy: \`${JSON.stringify(withoutDescription(b.policy))}\`.`, '');
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
        ['rate-limiter writes per redrive (UpdateItem/PutItem on limiter items)', b.limiterWritesPerRedrive === undefined ? 'n/a' : String(b.limiterWritesPerRedrive)],
        ['ThrottlingExceptions', fmt(b.throttlingExceptions)],
        ['redriven / executions redriven twice / lost / dead-lettered', `${fmt(b.redriven)} / ${b.doubleRedrives} / ${b.lost} / ${b.deadLettered}`],
        ['ledger records', Object.entries(b.ledger).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')],
        ['executions SUCCEEDED after their redrive', fmt(b.executionsSucceededAfterRedrive)],
        ['peak RSS (this process; dynalite process)', `${mib(b.peakRssBytes)}; ${mib(b.dynamoProcess?.maxRssBytes)}`],
        ['CPU (this process; dynalite process)', `${sec(b.cpuMs)}; ${b.dynamoProcess ? sec(b.dynamoProcess.cpuMs) : 'n/a'}`],
      ],
    ),
  );
  return out;
}

function costSection(r: BenchResults): string[] {
  const out = ['', '## Cost at 1,000,000 redrives a day', ''];
  const c = r.cost;
  const off = r.costBreakerOff;
  const perRedrive = (x: NonNullable<typeof c>) => `${x.writeUnitsPerRedrive} DynamoDB write units and ${x.readUnitsPerRedrive} read units per redrive`;
  out.push(
    `The controller's event path, single account, us-east-1 prices (model and sources: \`bench/cost.ts\`), from this run's burst with the default settings (breaker as shipped): ` +
      `${c ? perRedrive(c) : 'not measured'}, one Lambda invocation per failure, billed at the handler's median duration (an upper bound here).`,
  );
  if (c) {
    out.push('', table(['item', 'formula', 'per day'], [...c.lines.map((l) => [l.item, l.formula, `$${l.usdPerDay.toFixed(2)}`]), ['**total**', '', `**$${c.usdPerDayAtMillionRedrives.toFixed(2)}**`]]));
    out.push('', `Organization mode adds the forwarded events, if they are billed as custom events ($1.00 per million; unconfirmed): $${c.organizationForwardingUsdPerDay.toFixed(2)} a day.`);
  }
  if (off) out.push('', `For comparison, the breaker-off burst (\`costBreakerOff\`): ${perRedrive(off)}, **$${off.usdPerDayAtMillionRedrives.toFixed(2)}** a day.`);
  return out;
}

export function renderMarkdown(r: BenchResults): string {
  const out: string[] = [];
  const m = r.meta;
  out.push('# auto-redrive benchmark');
  out.push('');
  out.push(`${m.date} · Node ${m.node} · ${m.platform}/${m.arch} · ${m.nproc} CPUs (${m.cpuModel}) · ${m.memoryGiB} GiB · load average at start ${m.loadAverageAtStart.join(' / ')} · \`${m.command}\`${m.scale === 'quick' ? ' · **quick scale (not the reference numbers)**' : ''}`);
  if (m.keptFromPreviousRun) out.push('', `Sections from the run of ${m.keptFromPreviousRun.date} (\`--merge\`): ${m.keptFromPreviousRun.sections.join(', ')}.`);
  out.push('');
  out.push(table(['MUST', 'result', 'measured'], r.musts.map((c) => [c.description, c.ok ? 'PASS' : c.enforced ? '**FAIL**' : 'fail (not enforced at quick scale)', c.actual])));
  out.push('', '## Summary', '', summary(r));

  if (r.burst) out.push(...burstSection('Burst (breaker off: the redrive path itself)', r.burst));
  if (r.burstDefault) out.push(...burstSection('Burst with the default settings (breaker as shipped)', r.burstDefault));
  if (r.burstStateScoped) {
    const b = r.burstStateScoped;
    // The table's row is to the configured rate, like the other bursts'; the line below gives the ratio to the ceiling.
    out.push(...burstSection('Burst with a state-scoped policy (neverAtStates)', { ...b, achievedRateRatio: b.configuredRateRatio ?? b.achievedRateRatio }));
    const fields = { achievedRateRatio: b.achievedRateRatio, configuredRateRatio: b.configuredRateRatio, ceilingPerSecond: b.ceilingPerSecond, dynamoCallsPerRedrive: b.dynamoCallsPerRedrive, historyCallsPerFailure: b.historyCallsPerFailure, deadLettered: b.deadLettered, handedToDrain: b.handedToDrain };
    out.push('', `burstStateScoped (${b.events} failures): ${JSON.stringify(fields)}; achievedRateRatio is to the ceiling min(configured ${b.configuredRate}/s, history ${b.historyRatePerSecond}/s): the controller reads histories at ${b.historyRatePerSecond}/s (GetExecutionHistory refills at 20/s per account and Region), one per failure.`);
  }

  if (r.cost || r.costBreakerOff) out.push(...costSection(r));

  if (r.burstHeld) {
    const h = r.burstHeld;
    out.push('', '## Burst held behind the breaker', '');
    out.push(
      `${fmt(h.events)} FAILED events with the same error through ${h.workers} controller instances; the breaker opens and holds them; the downstream recovers, a probe succeeds, ` +
        `and everything held is released at the controller rate (${h.configuredRate}/s). Real clock.`,
    );
    out.push('');
    out.push(
      table(
        ['metric', 'value'],
        [
          ['held / released', `${fmt(h.held)} / ${fmt(h.released)}`],
          ['release: breaker closed → last release accepted', sec(h.releaseMs)],
          ['release rate / configured rate', `${h.releaseRate}/s / ${h.configuredRate}/s = **${h.releaseRateRatio}**`],
          ['DynamoDB calls per failure on the event path', `${h.dynamoCallsPerFailure} (${Object.entries(h.dynamoCallsByPurpose).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')})`],
          ['lost / redriven twice', `${h.lost} / ${h.doubleRedrives}`],
          ['executions SUCCEEDED in the end', fmt(h.executionsSucceeded)],
          ['log errors', fmt(h.logErrors)],
        ],
      ),
    );
  }

  if (r.storm) out.push(...stormSection(r));
  if (r.breakerFuzz) out.push(...breakerFuzzSection(r));
  if (r.budget) out.push(...budgetSection(r));

  for (const o of [r.outage30, r.outage120]) if (o) out.push(...outageSection(o));
  if (r.outage30 || r.outage120) out.push('', 'Outage model:', '', ...(m.models.outage ?? []).map((line) => `- ${line}`));

  if (r.trickle) {
    const t = r.trickle;
    const s = t.scenario;
    const runs = [t.breakerOff, t.breakerOn];
    const col = (f: (x: NonNullable<(typeof runs)[number]>) => string) => runs.map((x) => field(x, f));
    out.push('', '## Trickle (simulated time)', '');
    out.push(
      `One busy state machine: ${fmt(s.runsPerMinute)} runs per minute for ${s.minutes} minutes; each run fails once with Lambda.ServiceException with probability ${s.failureShare} (independently), and its redrive succeeds. No outage. ` +
        `Added median delay: **${fmt(t.addedMedianDelaySeconds, 1)} s** (MUST <= one probe interval, ${t.probeIntervalSeconds} s).`,
    );
    out.push('');
    out.push(
      table(
        ['', 'breaker off', 'breaker on'],
        [
          ['executions / failed (retryable)', ...col((x) => `${fmt(x.executions)} / ${fmt(x.retryable)}`)],
          ['recovered', ...col((x) => fmt(x.recovered))],
          ['delay failure → successful redrive, median / p90 / max', ...col((x) => `${fmt(x.medianDelaySeconds, 1)} / ${fmt(x.p90DelaySeconds, 1)} / ${fmt(x.maxDelaySeconds, 1)} s`)],
          ['redrives / futile', ...col((x) => `${fmt(x.redrives)} / ${fmt(x.futileRedrives)}`)],
          ['lost', ...col((x) => fmt(x.lost))],
          ['ledger records', ...col((x) => Object.entries(x.ledger).map(([k, v]) => `${k} ${fmt(v)}`).join(', '))],
          ['owner events', ...col((x) => Object.entries(x.ownerNotifications).map(([k, v]) => `${k} ${v}`).join(', ') || '0')],
          ['breaker: opened / closed (why) / probes started, same error / holds recorded', ...col((x) => (x.breaker ? breakerText(x.breaker) : 'n/a'))],
          ['DynamoDB calls', ...col((x) => fmt(x.dynamoCalls))],
          ['wall time of the simulation', ...col((x) => sec(x.wallMs))],
        ],
      ),
    );
    out.push('', 'Trickle model:', '', ...(m.models.trickle ?? []).map((line) => `- ${line}`));
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

  if (r.whatIf) {
    const w = r.whatIf;
    out.push('', '## What-if (real clock)', '');
    out.push(
      `\`${w.command}\` over a seeded history (local/seed-history.ts) on the stand-in with AWS's default API quotas: ` +
        `${fmt(w.failures)} failures over ${w.stateMachines} state machines (${fmt(w.wouldRedrive)} would be redriven) in **${w.seconds} s**, ` +
        `${fmt(w.listCalls)} ListExecutions and ${fmt(w.describeCalls)} DescribeExecution calls, ${w.throttled} throttled. The time is what-if's pacing (docs/cli.md#what-if), not this machine.`,
    );
  }

  out.push('', '## Harness', '', ...m.harness.map((line) => `- ${line}`));
  out.push('', `Durations: ${Object.entries(m.durationsMs).map(([k, v]) => `${k} ${sec(v)}`).join(', ')}.`, '');
  return out.join('\n');
}

function budgetSection(r: BenchResults): string[] {
  const b = r.budget!;
  const s = b.scenario;
  return [
    '',
    `## Budget: ${fmt(s.failures)} failures into a state machine with maxRedrivesPerHour ${fmt(s.budget)} (simulated time)`,
    '',
    `${fmt(s.failures)} runs of one state machine start over ${s.burstMinutes} minutes and each fails once (a bad deploy, fixed since: a redrive succeeds); ` +
      `the policy is the default plus \`maxRedrivesPerHour: ${s.budget}\`; ${s.instances} controller instances share the budget; the drain runs every minute.`,
    '',
    table(
      ['metric', 'value', 'MUST'],
      [
        ['most redrives in any rolling hour', `**${fmt(b.maxInAnyHour)}**`, `<= ${fmt(b.budget)}`],
        ['lost (not recovered at the end)', `**${fmt(b.lost)}** (${fmt(b.recovered)} / ${fmt(b.failures)} recovered)`, '0'],
        ['redrives per hour from the first failure', b.redrivesPerHour.map((n) => fmt(n)).join(', '), ''],
        ['first failure → last redrive', `${b.hoursToLastRedrive} h`, ''],
        ['Budget Reached events / failures held over budget (decisions)', `${fmt(b.budgetEvents)} / ${fmt(b.heldDecisions)}`, ''],
        ['DynamoDB calls', fmt(b.dynamoCalls), ''],
      ],
    ),
  ];
}
