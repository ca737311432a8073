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
 * Parses `alice@example.test, Bob Smith <bob@other.test>` into assignees with lower-case
 * addresses; throws with the offending entry when one is not an address.
 */
export function parseAssignees(list: string | readonly string[]): ParsedAssignee[] {
  const entries = (typeof list === 'string' ? [list] : list).flatMap((item) => item.split(','));
  const assignees = new Map<string, ParsedAssignee>();
  for (const raw of entries.map((e) => e.trim()).filter(Boolean)) {
    const named = /^"?([^"<]*?)"?\s*<([^>]+)>$/.exec(raw);
    const address = (named ? named[2]! : raw).trim().toLowerCase();
    const name = named?.[1]?.trim() || undefined;
    if (!isEmailAddress(address)) throw new Error(`not an email address: ${JSON.stringify(raw)}`);
    if (!assignees.has(address)) assignees.set(address, { address, name });
  }
  if (assignees.size === 0) throw new Error('at least one assignee is required');
  return [...assignees.values()];
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
