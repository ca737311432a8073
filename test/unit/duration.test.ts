import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDuration } from '../../domain/duration';

const DAY = 86_400_000;

void test('reads Temporal durations: milliseconds, or a number and a unit', () => {
  const cases: [string | number, number][] = [
    ['250ms', 250],
    ['30s', 30_000],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['1d', DAY],
    ['2 days', 2 * DAY],
    ['90 minutes', 5_400_000],
    ['1.5s', 1500],
    [' 3w ', 21 * DAY],
    ['1y', 365.25 * DAY],
    [1500, 1500],
    [1500.4, 1500],
  ];
  for (const [input, ms] of cases) assert.equal(parseDuration(input), ms, String(input));
});

void test('refuses what is not a duration, naming what is expected', () => {
  for (const input of [
    '',
    'soon',
    '30',
    '1h30m',
    '5 parsecs',
    `${'9'.repeat(120)}s`,
    NaN,
    Infinity,
    null,
    {},
  ]) {
    assert.throws(
      () => parseDuration(input),
      /^Error: expected a duration such as 30s, 5m, 2h, 1d or "2 days", got /,
      JSON.stringify(input),
    );
  }
});

void test('refuses zero and negative durations, or less than the minimum given', () => {
  for (const input of ['0s', '-1s', 0, -5, '0.1ms']) {
    assert.throws(() => parseDuration(input), /expected a positive duration/, String(input));
  }
  assert.equal(parseDuration('0s', { min: 0 }), 0);
  assert.throws(() => parseDuration('500ms', { min: '1s' }), /^Error: expected at least 1s, got "500ms"$/);
});

void test('caps every duration at one year: a clear error, never an invalid date later', () => {
  for (const input of ['99999999999w', '366d', '2y', 1e20, 366 * DAY]) {
    assert.throws(() => parseDuration(input), /expected at most one year \(1y\)/, String(input));
  }
  assert.equal(parseDuration('365d'), 365 * DAY);
});
