import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDuration } from '../../domain/duration';

test('parses durations', () => {
  const cases: [string, number][] = [
    ['250ms', 250],
    ['30s', 30_000],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1h30m', 5_400_000],
    ['1.5s', 1500],
  ];
  for (const [input, ms] of cases) assert.equal(parseDuration(input), ms, input);
});

test('rejects what is not a duration', () => {
  for (const input of ['', '30', 'soon', '5 m', '-1s', '1y']) {
    assert.throws(() => parseDuration(input), /expected a duration such as 30s/, input);
  }
});
