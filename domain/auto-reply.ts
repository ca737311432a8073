import type { InboundMail } from './inbound-mail';

const BULK_PRECEDENCE = new Set(['bulk', 'junk', 'list', 'auto_reply']);

/** Why the mail is an auto-reply, a bounce or a loop (so it must never decide a task), if it is. */
export function detectAutomatedMail(
  mail: Pick<InboundMail, 'from' | 'headers' | 'returnPath' | 'contentType'>,
  ownAddresses: readonly string[],
): string | undefined {
  const header = (name: string): string | undefined => mail.headers[name]?.trim().toLowerCase();
  const autoSubmitted = header('auto-submitted');
  if (autoSubmitted !== undefined && !/^no\b/.test(autoSubmitted)) {
    return `Auto-Submitted: ${/^[a-z0-9-]*/.exec(autoSubmitted)?.[0] ?? ''} (automatic mail, RFC 3834)`;
  }
  if (header('x-autoreply') !== undefined) return 'X-Autoreply header (auto-reply)';
  if (header('x-autorespond') !== undefined) return 'X-Autorespond header (auto-reply)';
  const precedence = header('precedence');
  if (precedence !== undefined && BULK_PRECEDENCE.has(precedence))
    return `Precedence: ${precedence} (bulk or automatic mail)`;
  if (mail.returnPath === '') return 'empty return path <> (a bounce or other delivery notice)';
  if (mail.contentType.split(';')[0]!.trim().toLowerCase() === 'multipart/report') {
    return 'multipart/report (a delivery or read report)';
  }
  const from = mail.from?.address.toLowerCase();
  if (from === undefined) return undefined;
  if (/^(?:mailer-daemon|postmaster)(?:@|$)/.test(from)) return `sent by ${from} (a bounce)`;
  if (ownAddresses.some((own) => own.toLowerCase() === from))
    return `sent from our own address ${from} (a mail loop)`;
  return undefined;
}
