import { readFileSync } from 'node:fs';
import { ImapFlow } from 'imapflow';
import { simpleParser } from 'mailparser';
import nodemailer, { type SendMailOptions } from 'nodemailer';
import type { Config } from '../config/schema';
import { parseMailto } from '../domain/mailto';

/** What a person's mail client does, for the demo and the benchmarks: read, click, reply. */
export interface MailAccount {
  address: string;
  password: string;
}

/** The mailto links (buttons) of a request email's HTML, in order: Complete, then Fail. */
export function mailtoLinks(html: string): string[] {
  return [...html.matchAll(/href="(mailto:[^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
}

/** Opens a button's pre-filled reply and types a comment at the top, as the person would. */
export function replyFromLink(
  href: string,
  comment: string,
): SendMailOptions & { to: string; subject: string; text: string } {
  const link = parseMailto(href);
  return {
    to: link.to.join(', '),
    subject: link.subject ?? '',
    text: `${comment}${link.body ?? ''}`,
    inReplyTo: link.headers['in-reply-to'],
  };
}

/** Waits for the task's request in the account's INBOX (over IMAP) and returns it. */
export async function fetchRequest(
  config: Config,
  account: MailAccount,
  taskId: string,
  timeoutMs = 30_000,
): Promise<{ subject: string; html: string }> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const imap = new ImapFlow({
      host: config.imap.host,
      port: config.imap.port,
      secure: config.imap.tls,
      tls: config.imap.ca ? { ca: readFileSync(config.imap.ca) } : undefined,
      auth: { user: account.address, pass: account.password },
      logger: false,
    });
    await imap.connect();
    try {
      const lock = await imap.getMailboxLock('INBOX');
      try {
        for (const uid of (await imap.search({ body: taskId }, { uid: true })) || []) {
          const message = await imap.fetchOne(String(uid), { source: true }, { uid: true });
          const parsed = message && message.source ? await simpleParser(message.source) : undefined;
          if (parsed?.html && parsed.subject?.startsWith('Action required'))
            return { subject: parsed.subject, html: parsed.html };
        }
      } finally {
        lock.release();
      }
    } finally {
      await imap.logout();
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no request for task ${taskId} in ${account.address}'s INBOX after ${timeoutMs} ms`);
}

/** Sends a message over SMTP (STARTTLS + AUTH) as the account. */
export async function sendAs(config: Config, account: MailAccount, message: SendMailOptions): Promise<void> {
  const transport = nodemailer.createTransport({
    host: config.smtp.host,
    port: config.smtp.port,
    requireTLS: true,
    tls: config.smtp.ca ? { ca: readFileSync(config.smtp.ca) } : undefined,
    auth: { user: account.address, pass: account.password },
  });
  try {
    await transport.sendMail({ from: account.address, ...message });
  } finally {
    transport.close();
  }
}
