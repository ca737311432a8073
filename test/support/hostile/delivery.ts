import { readFileSync } from 'node:fs';
import path from 'node:path';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Config } from '../../../config/schema';
import type { StackState } from '../../../dev/stack/state';

/**
 * Puts corpus messages into the completion mailbox: through the real Postfix as a stack user
 * (STARTTLS + AUTH, so the auth branch's OpenDKIM signs them), or straight into Dovecot over LMTP
 * for what Postfix would refuse or rewrite, and for bulk.
 */
export class Delivery {
  private readonly smtp = new Map<string, Transporter>();
  private readonly lmtp: Transporter;
  private readonly accounts: StackState['accounts'];

  constructor(
    private readonly config: Config,
    stackDir: string,
    private readonly recipient: string,
  ) {
    const state = JSON.parse(readFileSync(path.join(stackDir, 'stack.json'), 'utf8')) as StackState;
    this.accounts = state.accounts;
    this.lmtp = nodemailer.createTransport({
      host: '127.0.0.1',
      port: state.ports.lmtp,
      lmtp: true,
      ignoreTLS: true,
      pool: true,
      maxConnections: 4,
      maxMessages: Infinity,
    });
  }

  /** Submits raw bytes to Postfix as `user`; rejects with Postfix's answer if it refuses them. */
  async submit(user: string, raw: Buffer, envelopeFrom = user): Promise<void> {
    let transport = this.smtp.get(user);
    if (!transport) {
      const account = this.accounts.find((a) => a.address === user);
      if (!account) throw new Error(`no stack account ${user}`);
      transport = nodemailer.createTransport({
        host: this.config.smtp.host,
        port: this.config.smtp.port,
        requireTLS: true,
        tls: this.config.smtp.ca ? { ca: readFileSync(this.config.smtp.ca) } : undefined,
        auth: { user: account.address, pass: account.password },
        pool: true,
        maxConnections: 2,
      });
      this.smtp.set(user, transport);
    }
    await transport.sendMail({ envelope: { from: envelopeFrom, to: [this.recipient] }, raw });
  }

  /** Writes raw bytes into the completion mailbox over LMTP, past Postfix. */
  async inject(raw: Buffer, envelopeFrom: string): Promise<void> {
    await this.lmtp.sendMail({ envelope: { from: envelopeFrom, to: [this.recipient] }, raw });
  }

  close(): void {
    for (const transport of this.smtp.values()) transport.close();
    this.lmtp.close();
  }
}
