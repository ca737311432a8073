import type { SendMailOptions } from 'nodemailer';
import { parseMailto } from '../domain/mailto';

/** The mailto links (buttons) of a request email's HTML, in order. */
export function mailtoLinks(html: string): string[] {
  return [...html.matchAll(/href="(mailto:[^"]+)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
}

/**
 * What a person's mail client does with a button: opens the pre-filled reply, the person types
 * a comment at the top, and sends it.
 */
export function replyFromLink(href: string, comment: string): SendMailOptions & { to: string; subject: string; text: string } {
  const link = parseMailto(href);
  return {
    to: link.to.join(', '),
    subject: link.subject ?? '',
    text: `${comment}${link.body ?? ''}`,
    inReplyTo: link.headers['in-reply-to'],
  };
}
