import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { closeImap, openImap } from '../../mail/imap';
import { createSmtpTransport } from '../../mail/smtp';
import { account, logDir, testConfig, testLogger } from '../helpers/env';

test('log.mailDebug traces SMTP and IMAP at trace level with credentials redacted', async () => {
  const config = testConfig((c) => {
    c.log.mailDebug = true;
  });
  const log = testLogger('protocol-trace');
  const transport = createSmtpTransport(config.smtp, log, { mailDebug: true });
  try {
    await transport.sendMail({
      from: config.smtp.from,
      to: 'alice@example.test',
      subject: 'trace me',
      text: 'hello',
    });
  } finally {
    transport.close();
  }
  await closeImap(await openImap(config.imap, { log, mailDebug: true }));

  const text = readFileSync(path.join(logDir, 'protocol-trace.log'), 'utf8');
  const lines = text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { level: number; msg: string; module?: string });
  const trace = lines.filter((l) => l.level === 10);
  assert.ok(
    trace.some((l) => l.module === 'smtp' && /EHLO/.test(l.msg)),
    'the SMTP dialogue is traced',
  );
  assert.ok(
    trace.some((l) => l.module === 'imap-protocol'),
    'the IMAP dialogue is traced',
  );
  assert.ok(
    trace.some((l) => /AUTH|LOGIN|AUTHENTICATE/i.test(l.msg)),
    'the login steps are traced',
  );
  const password = account('completion@example.test').password;
  for (const secret of [
    password,
    Buffer.from(password).toString('base64'),
    Buffer.from(`\0completion@example.test\0${password}`).toString('base64'),
  ]) {
    assert.ok(!text.includes(secret), 'no credentials in the trace');
  }
});
