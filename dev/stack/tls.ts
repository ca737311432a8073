import { X509Certificate } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { run } from './processes';

export interface TlsFiles {
  /** The stack's local CA: what clients trust. */
  ca: string;
  /** The servers' certificate (CA:FALSE, serverAuth, localhost and 127.0.0.1), issued by `ca`. */
  cert: string;
  key: string;
}

export const tlsFiles = (dir: string): TlsFiles => ({
  ca: path.join(dir, 'tls', 'ca.pem'),
  cert: path.join(dir, 'tls', 'cert.pem'),
  key: path.join(dir, 'tls', 'key.pem'),
});

const caKeyFile = (dir: string) => path.join(dir, 'tls', 'ca.key');

const SERVER_EXTENSIONS = `basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
`;

const RENEW_BEFORE_MS = 30 * 24 * 3600_000;

/**
 * A local CA and a server certificate it issued, created once and kept while it is good. Stacks
 * from before the CA had a self-signed CA:TRUE certificate that mail clients refuse for a server:
 * `renewed` says an existing certificate was replaced, so the daemons serving it must restart.
 */
export async function ensureCert(dir: string, log: Logger): Promise<TlsFiles & { renewed: boolean }> {
  const files = tlsFiles(dir);
  const problem = await certificateProblem(files);
  if (!problem) return { ...files, renewed: false };
  const renewed = problem !== 'missing';
  const tlsDir = path.dirname(files.cert);
  await mkdir(tlsDir, { recursive: true });
  const tmp = path.join(tlsDir, `new.${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { mode: 0o700 });
  const at = (name: string) => path.join(tmp, name);
  try {
    // prettier-ignore
    await run('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '3650',
      '-subj', `/CN=remote-completion local stack CA ${path.basename(dir)}`,
      '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:0',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
      '-keyout', at('ca.key'), '-out', at('ca.pem'),
    ]);
    // prettier-ignore
    await run('openssl', [
      'req', '-new', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost',
      '-keyout', at('key.pem'), '-out', at('server.csr'),
    ]);
    await writeFile(at('server.ext'), SERVER_EXTENSIONS);
    // prettier-ignore
    await run('openssl', [
      'x509', '-req', '-in', at('server.csr'), '-CA', at('ca.pem'), '-CAkey', at('ca.key'),
      '-set_serial', `0x${Date.now().toString(16)}`, '-days', '825', '-sha256',
      '-extfile', at('server.ext'), '-out', at('cert.pem'),
    ]);
    await chmod(at('ca.key'), 0o600);
    await chmod(at('key.pem'), 0o600);
    await chmod(at('ca.pem'), 0o644);
    await chmod(at('cert.pem'), 0o644);
    // The key before the certificate, and the CA last: a crash between renames leaves the set incomplete, so the next up redoes it.
    await rename(at('ca.key'), caKeyFile(dir));
    await rename(at('key.pem'), files.key);
    await rename(at('cert.pem'), files.cert);
    await rename(at('ca.pem'), files.ca);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  log.info(
    { ca: files.ca, cert: files.cert },
    renewed
      ? `replaced the TLS server certificate (${problem}) with one issued by a new local CA`
      : 'created a local CA and its TLS server certificate',
  );
  return { ...files, renewed };
}

/** Why the certificate set must be (re)made, or undefined when it is good. */
async function certificateProblem(files: TlsFiles): Promise<string | undefined> {
  const read = (file: string) => readFile(file).catch(() => undefined);
  const [caPem, certPem, keyPem] = await Promise.all([read(files.ca), read(files.cert), read(files.key)]);
  if (!certPem) return 'missing';
  if (!caPem || !keyPem) return 'self-signed, no CA';
  const [ca, cert] = [new X509Certificate(caPem), new X509Certificate(certPem)];
  if (cert.ca) return 'marked as a CA';
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return 'not issued by the CA';
  if (Date.parse(cert.validTo) - Date.now() < RENEW_BEFORE_MS) return `expires ${cert.validTo}`;
  return undefined;
}
