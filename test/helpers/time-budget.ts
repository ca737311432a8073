import assert from 'node:assert/strict';

/** The default `imap.maxMessageBytes`: the largest mail the sync reads unless configured otherwise. */
export const ONE_MB = 1_000_000;

/** `unit` repeated to at least `size` characters. */
export const repeatTo = (unit: string, size: number): string => unit.repeat(Math.ceil(size / unit.length));

/**
 * Fails when `work` takes longer than `budgetMs`. The budget is far above what linear code needs
 * for the input sizes used with it, even on a busy machine, while a quadratic scan of that much
 * input takes minutes: this tells the two apart without timing anything closely.
 */
export function assertWithinBudget(label: string, work: () => unknown, budgetMs = 2000): void {
  const start = performance.now();
  work();
  const elapsed = Math.round(performance.now() - start);
  assert.ok(elapsed < budgetMs, `${label} took ${elapsed} ms, over the ${budgetMs} ms budget`);
}
