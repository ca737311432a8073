/**
 * How much the mailbox sync's own work (finding the sender's text, the token, verifying it) adds
 * to parsing a message, which any mail processor must do. Baseline: mailparser alone, measured in
 * the same run on the same messages. Then what the sync pays per message for reading mail in its
 * worker threads (parse + classify, handed over and back) against doing the same on the caller's
 * thread. Run: node --import tsx dev/bench/classify.ts
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { randomBytes } from 'node:crypto';
import { classifyMessage } from '../../mail/classify-message';
import { createMessageClassifier } from '../../activities/mailbox';
import { configSchema } from '../../config/schema';
import { asciiLowerCase } from '../../domain/ascii-case';
import { classifyMail } from '../../domain/classify';
import type { SenderVerdict } from '../../domain/sender-authentication';
import { toInboundMail } from '../../domain/inbound-mail';
import { keyring, signToken } from '../../domain/token';

const secret = randomBytes(32).toString('base64');
const keys = keyring([secret]);
const corpus = path.join(__dirname, '..', '..', 'test', 'fixtures', 'reply-trimming', 'emails');
const bodies = readdirSync(corpus).map((f) => readFileSync(path.join(corpus, f), 'utf8'));

// Real replies from many clients, each carrying a valid token in its own text, as a decision would.
const token = signToken(
  {
    workflowId: 'remote-completion/bench',
    runId: 'bench-run',
    action: 'complete',
    recipient: 'alice@example.test',
    expiresAt: Date.now() + 86_400_000,
  },
  keys,
);
const messages = bodies.map((body, i) =>
  Buffer.from(
    `From: Alice <alice@example.test>\r\nTo: completion@example.test\r\nSubject: Re: Approve\r\nMessage-ID: <m${i}@example.test>\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\n\r\nToken: ${token}\r\n${body.replace(/\r?\n/g, '\r\n')}`,
  ),
);

async function time(rounds: number, work: () => Promise<void>): Promise<number> {
  await work(); // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) await work();
  return Number(process.hrtime.bigint() - start) / 1e6 / rounds;
}

async function main(): Promise<void> {
  const rounds = 20;
  let parsed: ParsedMail[] = [];
  const parseMs = await time(rounds, async () => {
    parsed = await Promise.all(
      messages.map((m) =>
        simpleParser(m, { skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true }),
      ),
    );
  });
  const ctx = {
    keys,
    whitelist: { enabled: true, domains: ['example.test'] },
    ownAddresses: ['completion@example.test'],
    now: Date.now(),
  };
  // Sender authentication (DNS) is not part of this measure: mode off, From as mailparser reads it.
  const authentication = (p: (typeof parsed)[number]): SenderVerdict => ({
    mode: 'off',
    from: asciiLowerCase(p.from?.value[0]?.address ?? ''),
    status: 'off',
    summary: 'not measured',
  });
  let decisions = 0;
  const classifyMs = await time(rounds, () => {
    decisions = parsed
      .map((p, uid) =>
        classifyMail(
          toInboundMail(p, {
            uidValidity: '1',
            uid,
            size: 0,
            receivedAt: 0,
            authentication: authentication(p),
          }),
          ctx,
        ),
      )
      .filter((c) => c.outcome === 'decision').length;
    return Promise.resolve();
  });
  const config = configSchema.parse({
    smtp: { host: 'localhost' },
    imap: { host: 'localhost', fromAddress: 'completion@example.test', user: 'c', password: 'p' },
    signature: { secrets: [secret] },
    senderAuthentication: { mode: 'off' },
  });
  const jobs = messages.map((source, uid) => ({
    source,
    envelope: { uidValidity: '1', uid, size: source.length, receivedAt: ctx.now },
    settings: ctx,
    senderAuthentication: config.senderAuthentication,
  }));
  const inlineMs = await time(rounds, async () => {
    for (const job of jobs) await classifyMessage(job);
  });
  const classifier = createMessageClassifier(config);
  const threadedMs = await time(rounds, async () => {
    await Promise.all(jobs.map((job) => classifier.run(job)));
  });
  await classifier.close();
  const n = messages.length;
  process.stdout.write(
    `messages: ${n} real replies (${decisions} decided)\n` +
      `baseline  mailparser parse:        ${(parseMs / n).toFixed(3)} ms/message\n` +
      `ours      classify (after parse):  ${(classifyMs / n).toFixed(3)} ms/message\n` +
      `ratio     classify / parse:        ${(classifyMs / parseMs).toFixed(3)}\n` +
      `baseline  parse + classify inline: ${(inlineMs / n).toFixed(3)} ms/message\n` +
      `ours      in ${classifier.size} worker threads:   ${(threadedMs / n).toFixed(3)} ms/message\n` +
      `ratio     threads / inline:        ${(threadedMs / inlineMs).toFixed(3)}\n`,
  );
}

void main();
