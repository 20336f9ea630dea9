/**
 * The fuzzer's up-window rule (bench/breaker-fuzz/up-windows.ts): which up-window a moment
 * lies in, and when a paused controller can act again. The whole rule is exercised by the
 * fuzzer's worlds (breaker-fuzz.test.ts); these pin its two building blocks.
 */
import { unpausedFrom, upWindowAt } from '../../bench/breaker-fuzz/up-windows';
import { generateWorld, MINUTE, type World, WORLD_START } from '../../bench/breaker-fuzz/world';

const at = (minutes: number) => WORLD_START + minutes * MINUTE;
const outages = [
  { from: at(10), to: at(20) },
  { from: at(30), to: at(50) },
];

test('an up-window lies between two outages; before the first, after the last or inside one there is none', () => {
  expect(upWindowAt(outages, at(25))).toEqual({ from: at(20), to: at(30) });
  expect(upWindowAt(outages, at(20))).toEqual({ from: at(20), to: at(30) });
  expect(upWindowAt(outages, at(5))).toBeUndefined();
  expect(upWindowAt(outages, at(15))).toBeUndefined();
  expect(upWindowAt(outages, at(60))).toBeUndefined();
});

test('unpausedFrom: a moment inside a pause moves to its resume; a pause never resumed never ends; no pause changes nothing', () => {
  const base = generateWorld(1, 0);
  const world = (actions: World['actions']): World => ({ ...base, actions });
  const paused = world([
    { at: at(10), kind: 'pause' },
    { at: at(40), kind: 'resume' },
    { at: at(60), kind: 'pause' },
  ]);
  expect(unpausedFrom(paused, at(5))).toBe(at(5));
  expect(unpausedFrom(paused, at(10))).toBe(at(40));
  expect(unpausedFrom(paused, at(39))).toBe(at(40));
  expect(unpausedFrom(paused, at(40))).toBe(at(40));
  expect(unpausedFrom(paused, at(70))).toBe(Number.POSITIVE_INFINITY);
  expect(unpausedFrom(world([]), at(70))).toBe(at(70));
});
