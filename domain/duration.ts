// msToNumber is how the SDK itself reads every Duration (timers, activity options). It is exported
// from the package root, though documented as meant for the SDK's own use.
import { msToNumber, type Duration } from '@temporalio/common';

/** The longest duration anything here accepts: a task, a reminder, a token, a sync interval. */
const MAX_DURATION_MS = msToNumber('1y');

/**
 * Milliseconds of a duration in Temporal's own format (`Duration`, read by `@temporalio/common`
 * as it reads every activity and timer option): a number of milliseconds, or a string such as
 * `30s`, `5m`, `2h`, `1d`, `2 days`. A string must name its unit (`--timeout 30` would otherwise
 * mean 30 ms). Accepts `min` (default 1 ms, so zero is refused) up to one year, else throws an
 * error that says what is expected.
 */
export function parseDuration(value: unknown, { min = 1 }: { min?: number | string } = {}): number {
  const given = JSON.stringify(value) ?? String(value);
  let millis = NaN;
  if (typeof value === 'number') {
    millis = value;
  } else if (typeof value === 'string' && /[a-z]\s*$/i.test(value)) {
    try {
      millis = msToNumber(value.trim() as Duration);
    } catch {
      // not a duration, or longer than the 100 characters ms reads
    }
  }
  if (!Number.isFinite(millis)) {
    throw new Error(`expected a duration such as 30s, 5m, 2h, 1d or "2 days", got ${given}`);
  }
  millis = Math.round(millis);
  if (millis < (typeof min === 'number' ? min : msToNumber(min as Duration))) {
    throw new Error(
      min === 1 ? `expected a positive duration, got ${given}` : `expected at least ${min}, got ${given}`,
    );
  }
  if (millis > MAX_DURATION_MS) throw new Error(`expected at most one year (1y), got ${given}`);
  return millis;
}
