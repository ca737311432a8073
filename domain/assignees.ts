import { isWhitelisted } from './whitelist';

export interface ParsedAssignee {
  address: string;
  name?: string;
}

const ADDRESS =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;

export function isEmailAddress(value: string): boolean {
  return value.length <= 254 && ADDRESS.test(value);
}

/**
 * Parses `alice@example.test, Bob Smith <bob@other.test>` (or assignee objects) into assignees
 * with lower-case addresses, without duplicates; throws with the offending entry when one is not
 * an address.
 */
export function parseAssignees(list: string | readonly (string | ParsedAssignee)[]): ParsedAssignee[] {
  const entries = (typeof list === 'string' ? [list] : list).flatMap((item) =>
    typeof item === 'string'
      ? item
          .split(',')
          .map(parseEntry)
          .filter((a) => a !== undefined)
      : [item],
  );
  const assignees = new Map<string, ParsedAssignee>();
  for (const entry of entries) {
    const address = entry.address.trim().toLowerCase();
    if (!isEmailAddress(address)) throw new Error(`not an email address: ${JSON.stringify(entry.address)}`);
    if (!assignees.has(address)) assignees.set(address, { address, name: entry.name?.trim() || undefined });
  }
  if (assignees.size === 0) throw new Error('at least one assignee is required');
  return [...assignees.values()];
}

function parseEntry(raw: string): ParsedAssignee | undefined {
  const text = raw.trim();
  if (!text) return undefined;
  const named = /^"?([^"<]*?)"?\s*<([^>]+)>$/.exec(text);
  return named ? { address: named[2]!, name: named[1] } : { address: text };
}

/** Why these addresses cannot be assignees, or undefined when they can. */
export function checkAssigneeAddresses(
  addresses: readonly string[],
  whitelist: { enabled: boolean; domains: readonly string[] },
): string | undefined {
  const invalid = addresses.filter((a) => !isEmailAddress(a));
  if (invalid.length > 0) return `not an email address: ${invalid.join(', ')}`;
  if (!whitelist.enabled) return undefined;
  const outside = addresses.filter((a) => !isWhitelisted(a, [...whitelist.domains]));
  if (outside.length > 0) {
    return `not in the domain whitelist (${whitelist.domains.join(', ')}): ${outside.join(', ')}`;
  }
  return undefined;
}
