import { existsSync } from 'node:fs';
import { chmod, mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { run } from './processes';

export interface TlsFiles {
  cert: string;
  key: string;
}

export const tlsFiles = (dir: string): TlsFiles => ({
  cert: path.join(dir, 'tls', 'cert.pem'),
  key: path.join(dir, 'tls', 'key.pem'),
});

/** A self-signed certificate for localhost/127.0.0.1, created once; clients trust it as their CA. */
export async function ensureCert(dir: string, log: Logger): Promise<TlsFiles> {
  const files = tlsFiles(dir);
  if (existsSync(files.cert) && existsSync(files.key)) return files;
  await mkdir(path.dirname(files.cert), { recursive: true });
  const tmp = { cert: `${files.cert}.tmp`, key: `${files.key}.tmp` };
  // prettier-ignore
  await run('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '3650',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout', tmp.key, '-out', tmp.cert,
  ]);
  await chmod(tmp.key, 0o600);
  await rename(tmp.key, files.key);
  await rename(tmp.cert, files.cert);
  log.info({ cert: files.cert }, 'created self-signed TLS certificate');
  return files;
}
