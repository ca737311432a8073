import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isPrintableLine, printableJson, printableText } from '../../domain/printable';
import { assertWithinBudget, ONE_MB, repeatTo } from '../helpers/time-budget';

const ESC = '\x1b';

void test('terminal escape sequences are removed whole', () => {
  const cases: [string, string][] = [
    [`ok${ESC}[2K${ESC}[1Arewritten`, 'okrewritten'],
    [`${ESC}[31;1mred${ESC}[0m`, 'red'],
    [`${ESC}[?1049h`, ''],
    [`a${ESC}]0;window title${ESC}\\b`, 'ab'],
    [`a${ESC}]8;;https://evil.example${ESC}\\link${ESC}]8;;${ESC}\\b`, 'alinkb'],
    [`a${ESC}]52;c;Y2xpcGJvYXJk\x07b`, 'ab'],
    [`a${ESC}P+q544e${ESC}\\b`, 'ab'],
    [`a${ESC}_apc\x9cb`, 'ab'],
    [`a${ESC}7${ESC}8${ESC}(Bb${ESC}c`, 'ab'],
    [`a\x9b2Kb`, 'ab'],
    [`a\x9d0;title\x07b`, 'ab'],
    [`unterminated ${ESC}]0;title`, 'unterminated '],
    [`trailing ${ESC}`, 'trailing '],
    [`${ESC}[`, ''],
  ];
  for (const [input, output] of cases) assert.equal(printableText(input), output, JSON.stringify(input));
});

void test('control and bidi characters go; one line gets a space for each line break or tab', () => {
  assert.equal(printableText('a\x00b\x07c\x08d\x7fe\x85f\u202eg\u2066h\u2069'), 'abcde fgh');
  assert.equal(printableText('one\ntwo\r\nthree\rfour\tfive'), 'one two three four five');
  assert.equal(printableText('Café 👍 日本 — “ok”'), 'Café 👍 日本 — “ok”');
});

void test('a multi-line text keeps newlines and tabs; a carriage return cannot overwrite a line', () => {
  assert.equal(
    printableText('approved\rDENIED\r\nnext\tcol\x1b[1A\x0b\x0c', { multiline: true }),
    'approved\nDENIED\nnext\tcol',
  );
  // An unterminated OSC string ends with its line, so the lines after it stay.
  assert.equal(printableText(`a${ESC}]0;title\nb`, { multiline: true }), 'a\nb');
});

void test('isPrintableLine', () => {
  assert.equal(isPrintableLine('Bob Smith (Release)'), true);
  assert.equal(isPrintableLine('Bob\nSmith'), false);
  assert.equal(isPrintableLine(`Bob${ESC}[2K`), false);
  assert.equal(isPrintableLine('\u202eBob'), false);
});

void test('printableJson escapes what JSON leaves raw, and parses back to the same value', () => {
  const value = { comment: `a\x7fb\x9bc\u202ed${ESC}[2K\n`, n: 1 };
  const json = printableJson(value);
  assert.deepEqual(
    [...json].filter((c) => c !== '\n' && !isPrintableLine(c)),
    [],
  );
  assert.deepEqual(JSON.parse(json), value);
});

const adversarial: [string, string][] = [
  ['escape characters', repeatTo(ESC, ONE_MB)],
  ['CSI introducers', repeatTo(`${ESC}[`, ONE_MB)],
  ['CSI parameters', `${ESC}[${repeatTo('1;', ONE_MB)}`],
  ['unterminated OSC strings', repeatTo(`${ESC}]`, ONE_MB)],
  ['one OSC string', `${ESC}]${repeatTo('a', ONE_MB)}`],
  ['control characters', repeatTo('\x01\x9b\u202e', ONE_MB)],
];
for (const [name, input] of adversarial) {
  void test(`printableText runs in linear time: 1 MB of ${name}`, () => {
    assertWithinBudget(name, () => printableText(input, { multiline: true }));
    assertWithinBudget(name, () => printableText(input));
  });
}
