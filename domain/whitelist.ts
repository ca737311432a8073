import { asciiLowerCase } from './ascii-case';
import type { InboundMail } from './inbound-mail';

export interface WhitelistSettings {
  enabled: boolean;
  domains: readonly string[];
}

/**
 * Domain whitelist. An entry `example.com` matches addresses at exactly that domain; an entry
 * `*.example.com` matches addresses at any subdomain of example.com (`eu.example.com`,
 * `a.b.example.com`) but not at example.com itself: list both to accept both. Case-insensitive.
 */
export function isWhitelisted(address: string, domains: readonly string[]): boolean {
  const at = address.lastIndexOf('@');
  const domain = asciiLowerCase(address.slice(at + 1)).replace(/\.$/, '');
  if (at === -1 || domain === '') return false;
  return domains.some((entry) => {
    const pattern = asciiLowerCase(entry.trim());
    return pattern.startsWith('*.') ? domain.endsWith(pattern.slice(1)) : domain === pattern;
  });
}

/** Why the mail is refused by the whitelist (sender, then every To and Cc recipient), if it is. */
export function whitelistViolation(
  mail: Pick<InboundMail, 'from' | 'to' | 'cc'>,
  domains: readonly string[],
): string | undefined {
  if (!mail.from) return 'the mail has no sender address';
  if (!isWhitelisted(mail.from.address, domains))
    return `sender ${mail.from.address} is not in a whitelisted domain`;
  const outsider = [...mail.to, ...mail.cc].find((address) => !isWhitelisted(address, domains));
  return outsider === undefined ? undefined : `recipient ${outsider} is not in a whitelisted domain`;
}
