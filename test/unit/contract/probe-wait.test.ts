import { heldFate, openedByWords, probeWait, type ProbeWaitFacts } from '../../../contract/probe-wait';

const NOW = Date.UTC(2026, 0, 1, 12);
const iso = (ms: number) => new Date(ms).toISOString();
const open: ProbeWaitFacts = { status: 'open', closeReason: null, probe: null, nextProbeAt: NOW + 30_000 };

describe('probeWait: what the next probe waits for, in words', () => {
  it('a probe time ahead is the next probe', () => {
    expect(probeWait(open, NOW)).toBe(`next probe at ${iso(NOW + 30_000)}`);
  });

  it('a probe time already past is never shown as "next probe"', () => {
    for (const nextProbeAt of [NOW, NOW - 1, NOW - 3_600_000, null]) {
      const said = probeWait({ ...open, nextProbeAt }, NOW);
      expect(said).toBe('due now, at the next drain run');
      expect(said).not.toContain('next probe at');
    }
  });

  it('a probe running: which execution, since when', () => {
    expect(probeWait({ ...open, probe: { executionArn: 'arn:x', startedAt: NOW - 5_000 } }, NOW)).toBe(`probe arn:x running since ${iso(NOW - 5_000)}`);
  });

  it("a due probe that still waits for a held failure's own backoff: said only while it is ahead", () => {
    const waits = [{ reason: 'own-backoff' as const, until: NOW + 60_000 }];
    const due = { ...open, nextProbeAt: NOW - 1_000, waits };
    expect(probeWait(due, NOW)).toBe(`waiting for a held failure's own backoff (a probe never redrives sooner than the policy), until ${iso(NOW + 60_000)}`);
    expect(probeWait(due, NOW + 60_000)).toBe('due now, at the next drain run');
    // A schedule still ahead comes first.
    expect(probeWait({ ...open, waits }, NOW)).toBe(`next probe at ${iso(NOW + 30_000)}`);
  });

  it('no held failure with a redrive left: no probe, and what happens instead', () => {
    expect(probeWait({ ...open, nextProbeAt: NOW, noCandidate: true }, NOW)).toMatch(/^no probe: no held failure has a redrive left/);
  });

  it('releasing and closed breakers do not probe', () => {
    expect(probeWait({ ...open, status: 'releasing', closeReason: 'probe-succeeded' }, NOW)).toBe('no probe: it stopped holding (probe-succeeded); held failures are released by the next drain runs');
    expect(probeWait({ ...open, status: 'closed' }, NOW)).toBe('no probe: the breaker is closed');
  });
});

describe('heldFate: how a held failure leaves the hold', () => {
  it('held after exhaustion: never probed, only a person releases it', () => {
    expect(heldFate({ reason: 'exhausted', redriveCount: 3, maxRedrives: 3, breaker: null }, NOW)).toBe('held after exhaustion: never probed; released only by a person (redrivectl release)');
  });

  it('no redrive left under its policy: never probed (not "released when a probe succeeds")', () => {
    const fate = heldFate({ reason: 'breaker-open', redriveCount: 1, maxRedrives: 1, breaker: open }, NOW);
    expect(fate).toMatch(/^no redrive left: never probed/);
    expect(fate).not.toContain('when a probe');
  });

  it('otherwise released by a successful probe, with what the probe waits for', () => {
    expect(heldFate({ reason: 'breaker-open', redriveCount: 0, maxRedrives: 3, breaker: open }, NOW)).toBe(
      `released when a probe of its group succeeds, or by a person (redrivectl release); next probe at ${iso(NOW + 30_000)}`,
    );
  });

  it('its breaker no longer open, or no policy: released by the drain', () => {
    expect(heldFate({ reason: 'breaker-open', redriveCount: 0, maxRedrives: 3, breaker: { ...open, status: 'releasing' } }, NOW)).toMatch(/released by the next drain runs$/);
    expect(heldFate({ reason: 'breaker-open', redriveCount: 0, maxRedrives: null, breaker: open }, NOW)).toMatch(/^no enabled policy applies/);
  });
});

test('openedByWords: each signal, and items opened before it was recorded', () => {
  expect([openedByWords('failures'), openedByWords('redrive-failures'), openedByWords('both'), openedByWords('shared-dependency'), openedByWords(undefined)]).toEqual([
    'executions failing',
    'redrives failing again',
    'executions failing and redrives failing again',
    'a redrive failing again while another state machine was open for the same error',
    'not recorded',
  ]);
});

test('heldFate: a failure held over its redrive budget is released by the drain as the budget allows (no breaker involved)', () => {
  expect(heldFate({ reason: 'over-budget', redriveCount: 0, maxRedrives: 3, breaker: null }, NOW)).toBe(
    "held over its state machine's redrive budget (maxRedrivesPerHour): released oldest first by the drain as the budget allows",
  );
});
