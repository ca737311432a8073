import addressparser from 'nodemailer/lib/addressparser';
import { isPrintableLine } from './printable';
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
 * Parses `alice@example.test, "Smith, Bob" <bob@other.test>` (RFC 5322 address lists, read by
 * nodemailer's address parser; groups are flattened) or assignee objects into assignees with
 * lower-case addresses, without duplicates. Throws with the offending entry when one is not an
 * address, or when a display name is not one printable line.
 */
export function parseAssignees(list: string | readonly (string | ParsedAssignee)[]): ParsedAssignee[] {
  const entries = (typeof list === 'string' ? [list] : list).flatMap((item) =>
    typeof item === 'string' ? addressparser(item, { flatten: true }) : [item],
  );
  const assignees = new Map<string, ParsedAssignee>();
  for (const entry of entries) {
    const given = typeof entry.address === 'string' ? entry.address.trim() : '';
    const name = typeof entry.name === 'string' && entry.name.trim() !== '' ? entry.name.trim() : undefined;
    if (given === '' && name === undefined) continue; // an empty entry of the list: "a@x.test,,b@y.test"
    const address = given.toLowerCase();
    if (!isEmailAddress(address)) throw new Error(`not an email address: ${JSON.stringify(given || name)}`);
    if (name !== undefined) checkDisplayName(name);
    if (!assignees.has(address)) assignees.set(address, { address, name });
  }
  if (assignees.size === 0) throw new Error('at least one assignee is required');
  return [...assignees.values()];
}

/** Display names end up in mail headers and on the operator's terminal: one printable line. */
export function checkDisplayName(name: string): void {
  if (!isPrintableLine(name)) {
    throw new Error(
      `assignee name ${JSON.stringify(name)} holds control characters or line breaks: use one printable line`,
    );
  }
  // "a@x.test b@y.test" reads as the address a@x.test named "b@y.test".
  if (name.includes('@')) {
    throw new Error(
      `assignee name ${JSON.stringify(name)} looks like an address: separate assignees with commas`,
    );
  }
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
