/**
 * `npm start`: the whole controller loop on this machine, no AWS account. Runs the seed
 * story (local/story.ts) on the local stand-in with simulated time and prints the
 * timeline and a summary. `npm start -- --story outage` runs the outage story instead
 * (local/story-outage.ts: a downstream outage, the breaker opens, probes, closes and
 * releases). `npm start -- --story canary` runs the canary story (local/story-canary.ts:
 * the built-in canary fails, is redriven and succeeds; the recovery is recorded);
 * `--story approval` the approval story (local/story-approval.ts: failures held for a
 * person, one approved and redriven, one rejected). Exits non-zero if the story did not
 * end as it should.
 */
// The SDK warns that its 2027 releases will need Node 22; this demo runs on Node 20 too.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { runStory, STORY_START, type TimelineEntry } from './story';
import { canaryStoryProblems, runCanaryStory } from './story-canary';
import { OUTAGE_STORY_START as OUTAGE_STORY_START_MS, outageStoryProblems, runOutageStory } from './story-outage';
import { OutageStoryPrinter, outageStoryChart, stamp as outageStamp } from './story-outage-view';
import { type MinuteBucket, timelineChart } from './timeline-chart';
import { approvalStoryProblems, runApprovalStory } from './story-approval';

const OUTPUT_DIR = join(__dirname, 'output');

/** Failures (FAILED events), redrives and recoveries (SUCCEEDED events) per simulated minute. */
function perMinute(timeline: readonly TimelineEntry[]): MinuteBucket[] {
  const buckets: MinuteBucket[] = [];
  const bucket = (at: number) => {
    const minute = Math.floor((at - STORY_START) / 60_000);
    for (let m = buckets.length; m <= minute; m++) buckets.push({ minute: m, failures: 0, redrives: 0, recoveries: 0 });
    return buckets[minute];
  };
  for (const e of timeline) {
    if (e.kind === 'event' && e.status === 'FAILED') bucket(e.at).failures++;
    if (e.kind === 'event' && e.status === 'SUCCEEDED') bucket(e.at).recoveries++;
    if (e.kind === 'decision' && e.outcome.action === 'redriven') bucket(e.at).redrives++;
  }
  return buckets;
}

const stamp = (at: number) => {
  const s = Math.round((at - STORY_START) / 1000);
  return `+${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
};

function line(e: TimelineEntry): string {
  switch (e.kind) {
    case 'note':
      return `${stamp(e.at)}  ** ${e.text}`;
    case 'event':
      return `${stamp(e.at)}  ${e.execution.padEnd(28)} Step Functions: ${e.status}${e.error ? ` (${e.error})` : ''}, redriveCount ${e.redriveCount}`;
    case 'decision': {
      const o = e.outcome;
      const due = o.dueAt ? ` at ${stamp(o.dueAt)}` : '';
      const what = o.decision.decision === 'skip' ? `skip: ${o.decision.reason}` : `${o.decision.decision} (${o.decision.reason})`;
      return `${stamp(e.at)}  ${e.execution.padEnd(28)} auto-redrive [${o.source}]: ${what} -> ${o.action}${due}\n${' '.repeat(36)}${o.decision.detail}`;
    }
  }
}

const STORIES = ['seed', 'outage', 'canary', 'approval'] as const;

/** `--story outage` or `--story=outage`; the seed story by default. */
function storyOf(argv: readonly string[]): (typeof STORIES)[number] {
  const at = argv.findIndex((a) => a === '--story' || a.startsWith('--story='));
  if (at < 0) return 'seed';
  const name = argv[at].includes('=') ? argv[at].split('=')[1] : argv[at + 1];
  const story = STORIES.find((s) => s === name);
  if (!story) throw new Error(`--story: expected one of ${STORIES.join(', ')}, got '${name ?? ''}'`);
  return story;
}

async function outageStory(): Promise<void> {
  console.log('auto-redrive, local run: the outage story (Step Functions stand-in + dynalite + in-process event bus, simulated clock)\n');
  const printer = new OutageStoryPrinter((l) => console.log(l));
  const result = await runOutageStory((e) => printer.add(e));
  printer.flush();
  console.log('\nSummary');
  const good = result.executions.filter((e) => !e.badInput);
  console.log(`  ${good.filter((e) => e.finalStatus === 'SUCCEEDED').length} of ${good.length} executions with good input SUCCEEDED; pay-bad-input ${result.executions.find((e) => e.badInput)?.finalStatus}, redriven ${result.executions.find((e) => e.badInput)?.redriveCount}x`);
  console.log(`  Redrives by reason: ${Object.entries(result.redrivesByReason).map(([k, v]) => `${k} ${v}`).join(', ')}; most failures held at once: ${result.mostHeld}`);
  console.log(`  Breaker: ${result.breakerEvents.map((b) => `${b.detailType} at ${outageStamp(b.at)}`).join(', ')}`);
  console.log(`  Simulated time: ${outageStamp(OUTAGE_STORY_START_MS + result.elapsedSimulatedMs)}`);
  mkdirSync(OUTPUT_DIR, { recursive: true });
  const chart = join(OUTPUT_DIR, 'outage-story.svg');
  writeFileSync(chart, outageStoryChart(result));
  console.log(`  Chart: ${relative(process.cwd(), chart)}`);
  const problems = outageStoryProblems(result);
  console.log(problems.length ? `\nUNEXPECTED ENDING: ${problems.join('; ')}` : '\nThe story ended as expected.');
  process.exitCode = problems.length ? 1 : 0;
}

async function canaryStory(): Promise<void> {
  console.log('auto-redrive, local run: the canary story (Step Functions stand-in + dynalite + in-process event bus, simulated clock)\n');
  const result = await runCanaryStory((e) => console.log(line(e)));
  const item = result.statusItem;
  console.log('\nSummary');
  console.log(`  canary ${result.finalStatus}, redriven ${result.redriveCount}x; first run failed with ${result.firstError ?? 'nothing'}`);
  console.log(`  Metrics: CanaryRecoveries ${result.recoveries}, CanaryRecoverySeconds ${result.recoverySeconds.join(', ') || 'none'}; Decisions/Redrives data points from the canary: ${result.generalMetricPoints}`);
  console.log(`  Status item: ${item ? `recoveredAt ${item.recoveredAt}, recoverySeconds ${item.recoverySeconds ?? 'unknown'}, recoveries ${item.recoveries}` : 'none'}`);
  console.log(`  Simulated time: ${stamp(STORY_START + result.elapsedSimulatedMs)}`);
  const problems = canaryStoryProblems(result);
  console.log(problems.length ? `\nUNEXPECTED ENDING: ${problems.join('; ')}` : '\nThe story ended as expected.');
  process.exitCode = problems.length ? 1 : 0;
}

async function approvalStory(): Promise<void> {
  console.log('auto-redrive, local run: the approval story (policy approval: true; Step Functions stand-in + dynalite, simulated clock)\n');
  const result = await runApprovalStory((l) => console.log(l));
  const problems = approvalStoryProblems(result);
  console.log(problems.length ? `\nUNEXPECTED ENDING: ${problems.join('; ')}` : '\nThe story ended as expected.');
  process.exitCode = problems.length ? 1 : 0;
}

async function main(): Promise<void> {
  const story = storyOf(process.argv.slice(2));
  if (story === 'outage') return outageStory();
  if (story === 'canary') return canaryStory();
  if (story === 'approval') return approvalStory();
  console.log('auto-redrive, local run: Step Functions stand-in + dynalite + in-process event bus, simulated clock\n');
  const result = await runStory((e) => console.log(line(e)));
  console.log('\nSummary');
  for (const ex of result.executions) {
    console.log(`  ${ex.label.padEnd(28)} ${ex.finalStatus.padEnd(10)} redriven ${ex.redriveCount}x`);
  }
  console.log(`  RedriveExecution calls: ${result.redriveCalls}; owner events: ${result.ownerEvents.map((e) => `${e.detailType} (${e.detail.reason})`).join(', ') || 'none'}`);
  console.log(`  Simulated time: ${stamp(STORY_START + result.elapsedSimulatedMs)} (minutes of backoff, run in seconds)`);

  mkdirSync(OUTPUT_DIR, { recursive: true });
  const chart = join(OUTPUT_DIR, 'story.svg');
  writeFileSync(
    chart,
    timelineChart([{ title: 'npm start: the seed story', subtitle: '3 executions, default-style policy, simulated time', timeline: perMinute(result.timeline) }], {
      xLabel: 'simulated minutes since the first failure',
      tickEvery: 1,
    }),
  );
  console.log(`  Chart: ${relative(process.cwd(), chart)}`);

  const [orders, invoice, inventory] = result.executions;
  const ok =
    orders.finalStatus === 'SUCCEEDED' &&
    orders.redriveCount === 2 &&
    invoice.finalStatus === 'FAILED' &&
    invoice.redriveCount === 0 &&
    inventory.finalStatus === 'FAILED' &&
    inventory.redriveCount === 3;
  console.log(ok ? '\nThe story ended as expected.' : '\nUNEXPECTED ENDING: see the timeline above.');
  console.log('Next: `npm run local` keeps the stand-in running for `npx redrivectl --local ...`; `npm test` runs the tests.');
  process.exitCode = ok ? 0 : 1;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
