/** Parses durations such as `30s`, `5m`, `2h`, `1d`, `1h30m`, `250ms`; returns milliseconds. */
const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

export function parseDuration(input: string): number {
  const text = input.trim();
  const pattern = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gy;
  let total = 0;
  let consumed = 0;
  for (const match of text.matchAll(pattern)) {
    total += Number(match[1]) * UNIT_MS[match[2] as string]!;
    consumed += match[0].length;
  }
  if (text.length === 0 || consumed !== text.length) {
    throw new Error(`expected a duration such as 30s, 5m, 2h or 1d, got ${JSON.stringify(input)}`);
  }
  return Math.round(total);
}
