/**
 * A small discrete-event loop on a SimClock: timers ordered by simulated time, fired in
 * one-second windows. Everything due in a window runs concurrently at (about) the latest
 * due time in it, then the loop waits until the Step Functions stand-in has nothing left
 * to do before it moves time on. Simulated time also moves when the controller sleeps
 * (its rate limiters); timers that fall due meanwhile fire, late, in the next window.
 */
import type { SimClock } from '../local/sim-clock';

export type TimerKind = 'start' | 'run' | 'delivery' | 'tick';

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly kind: TimerKind;
  readonly fn: () => void | Promise<void>;
}

const before = (a: Timer, b: Timer) => a.at < b.at || (a.at === b.at && a.seq < b.seq);

export class SimWorld {
  private readonly heap: Timer[] = [];
  private seq = 0;
  private readonly kinds = new Map<TimerKind, number>();
  windows = 0;

  constructor(readonly clock: SimClock) {}

  at(at: number, kind: TimerKind, fn: () => void | Promise<void>): void {
    const timer = { at, seq: this.seq++, kind, fn };
    this.kinds.set(kind, (this.kinds.get(kind) ?? 0) + 1);
    const h = this.heap;
    h.push(timer);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
  }

  get size(): number {
    return this.heap.length;
  }

  pending(kind: TimerKind): number {
    return this.kinds.get(kind) ?? 0;
  }

  peekAt(): number | undefined {
    return this.heap[0]?.at;
  }

  private pop(): Timer {
    const h = this.heap;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l], h[m])) m = l;
        if (r < h.length && before(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    this.kinds.set(top.kind, (this.kinds.get(top.kind) ?? 1) - 1);
    return top;
  }

  /**
   * Fires every timer due before the end of the next one-second window and waits for them
   * and for `settled()` to hold. Returns false when there was nothing to do.
   */
  async step(settled: () => boolean): Promise<boolean> {
    const next = this.peekAt();
    if (next === undefined) return false;
    const windowEnd = (Math.floor(Math.max(next, this.clock.now()) / 1000) + 1) * 1000;
    const batch: Timer[] = [];
    while (this.heap.length > 0 && this.heap[0].at < windowEnd) batch.push(this.pop());
    this.clock.advanceTo(batch[batch.length - 1].at);
    this.windows++;
    await Promise.all(batch.map((t) => t.fn()));
    for (let turn = 0; !settled(); turn++) {
      if (turn > 100_000) throw new Error('simulation did not settle');
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return true;
  }
}
