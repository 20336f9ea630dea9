/**
 * Resuming an interrupted what-if: a JSON file keyed by the command's arguments, holding
 * the run's clock (so a resumed run judges every failure at the same "now" and the same
 * window), the state machines finished, and every execution described so far. A second
 * run with the same arguments continues from it, lists only unfinished state machines and
 * describes only executions it has not described; a finished run removes the file.
 *
 * Only what decide() needs is kept (no cause, input or output: never execution data).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DescribedExecution } from '../../lambda/act/step-functions';

const VERSION = 1;
/** Written at most this often while running (and at every state machine's end, and on Ctrl-C). */
const SAVE_EVERY_MS = 2_000;

interface CheckpointData {
  readonly version: number;
  readonly key: string;
  readonly now: number;
  readonly since: number;
  // Mutated in place: a run may describe thousands of executions.
  finished: Record<string, { readonly stateCount: number }>;
  described: Record<string, DescribedExecution>;
}

/** The arguments that make two runs the same run. */
export interface CheckpointArgs {
  readonly since: string;
  readonly stateMachine: string | null;
  /** The proposed file's path and a hash of its content, or the policy table's name. */
  readonly policies: string;
  /** Where Step Functions is: Region, endpoint (the local stand-in has its own) and profile. */
  readonly target: string;
  readonly maxRunHours: number;
}

export function checkpointKey(args: CheckpointArgs): string {
  const ordered = Object.keys(args)
    .sort()
    .map((k) => [k, args[k as keyof CheckpointArgs]]);
  return createHash('sha256').update(JSON.stringify(ordered)).digest('hex').slice(0, 24);
}

/** `<OS temp dir>/redrivectl-what-if/<key>.json`. */
export function defaultCheckpointFile(key: string): string {
  return path.join(os.tmpdir(), 'redrivectl-what-if', `${key}.json`);
}

export class Checkpoint {
  private dirty = false;
  private lastSave = 0;

  private constructor(
    readonly file: string,
    private readonly data: CheckpointData,
    /** This run continues an interrupted one. */
    readonly resumed: boolean,
    private readonly clock: () => number,
  ) {}

  /**
   * The checkpoint of an interrupted run with the same key, else a new one starting at
   * `start` (written on the first save). A file that cannot be read is replaced, with a note.
   */
  static open(file: string, key: string, start: { now: number; since: number }, options: { restart?: boolean; clock?: () => number; note?: (line: string) => void } = {}): Checkpoint {
    const clock = options.clock ?? Date.now;
    const fresh = (): Checkpoint => new Checkpoint(file, { version: VERSION, key, now: start.now, since: start.since, finished: {}, described: {} }, false, clock);
    if (options.restart) return fresh();
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return fresh();
    }
    try {
      const data = JSON.parse(text) as CheckpointData;
      const ok = data.version === VERSION && data.key === key && Number.isFinite(data.now) && Number.isFinite(data.since) && typeof data.finished === 'object' && typeof data.described === 'object';
      if (ok) return new Checkpoint(file, data, true, clock);
      options.note?.(`checkpoint ${file} is from another version or run; starting over`);
    } catch {
      options.note?.(`checkpoint ${file} is not valid JSON; starting over`);
    }
    return fresh();
  }

  /** The clock and window of the run (the interrupted one's, when resumed). */
  get now(): number {
    return this.data.now;
  }
  get since(): number {
    return this.data.since;
  }

  isFinished(stateMachineArn: string): boolean {
    return stateMachineArn in this.data.finished;
  }

  stateCountOf(stateMachineArn: string): number | undefined {
    return this.data.finished[stateMachineArn]?.stateCount;
  }

  finishedCount(): number {
    return Object.keys(this.data.finished).length;
  }

  describedCount(): number {
    return Object.keys(this.data.described).length;
  }

  described(executionArn: string): DescribedExecution | undefined {
    return this.data.described[executionArn];
  }

  /** The described executions of one state machine, oldest stop first. */
  describedOf(stateMachineArn: string): DescribedExecution[] {
    return Object.values(this.data.described)
      .filter((d) => d.stateMachineArn === stateMachineArn)
      .sort((a, b) => (a.stopDate ?? 0) - (b.stopDate ?? 0) || a.executionArn.localeCompare(b.executionArn));
  }

  addDescribed(d: DescribedExecution): void {
    this.data.described[d.executionArn] = d;
    this.dirty = true;
    if (this.clock() - this.lastSave >= SAVE_EVERY_MS) this.save();
  }

  finish(stateMachineArn: string, stateCount: number): void {
    this.data.finished[stateMachineArn] = { stateCount };
    this.dirty = true;
    this.save();
  }

  /** Writes the file (atomically: a crash mid-write leaves the previous one). */
  save(): void {
    if (!this.dirty) return;
    mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.data));
    renameSync(tmp, this.file);
    this.dirty = false;
    this.lastSave = this.clock();
  }

  /** The run finished: nothing to resume. */
  remove(): void {
    rmSync(this.file, { force: true });
  }
}
