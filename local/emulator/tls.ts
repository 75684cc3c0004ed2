// The certificate of the optional TLS listener: the user's own (certFile + keyFile), or a
// self-signed one generated once into a directory and reused, so a client trusts it once
// (NODE_EXTRA_CA_CERTS, Python's connection_verify=, the OS store).
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { generate } from 'selfsigned';
import { type Logger } from './logger';

export const CERT_FILE_NAME = 'eventhubs-emulator-cert.pem';
export const KEY_FILE_NAME = 'eventhubs-emulator-key.pem';
const VALIDITY_DAYS = 825;

export interface TlsCertificate {
  cert: string;
  key: string;
  /** The PEM file clients should trust. */
  certFile: string;
}

export async function loadCertificate(
  options: { certFile?: string; keyFile?: string; certDir: string; hostNames: string[] },
  logger: Logger,
): Promise<TlsCertificate> {
  if (options.certFile || options.keyFile) {
    if (!options.certFile || !options.keyFile)
      throw new Error('TLS needs both a certificate file and a key file');
    return {
      cert: readFileSync(options.certFile, 'utf8'),
      key: readFileSync(options.keyFile, 'utf8'),
      certFile: path.resolve(options.certFile),
    };
  }
  const certFile = path.resolve(options.certDir, CERT_FILE_NAME);
  const keyFile = path.resolve(options.certDir, KEY_FILE_NAME);
  if (existsSync(certFile) && existsSync(keyFile)) {
    const cert = readFileSync(certFile, 'utf8');
    if (usable(cert, options.hostNames)) return { cert, key: readFileSync(keyFile, 'utf8'), certFile };
    logger.info(
      `TLS: ${certFile} is expiring or does not name ${options.hostNames.join(', ')}; generating a new one`,
    );
  }
  const hostNames = [...new Set(['localhost', '127.0.0.1', '::1', ...options.hostNames])];
  const notBefore = new Date(Date.now() - 60_000);
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: notBefore,
    notAfterDate: new Date(notBefore.getTime() + VALIDITY_DAYS * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: hostNames.map((name) => (isIP(name) ? { type: 7, ip: name } : { type: 2, value: name })),
      },
    ],
  });
  mkdirSync(options.certDir, { recursive: true });
  writeFileSync(keyFile, pems.private, { mode: 0o600 });
  writeFileSync(certFile, pems.cert);
  logger.info(`TLS: generated a self-signed certificate; trust ${certFile} in clients`);
  return { cert: pems.cert, key: pems.private, certFile };
}

function usable(pem: string, hostNames: string[]): boolean {
  try {
    const cert = new X509Certificate(pem);
    if (new Date(cert.validTo).getTime() < Date.now() + 86_400_000) return false;
    return hostNames.every((name) => (isIP(name) ? cert.checkIP(name) : cert.checkHost(name)) !== undefined);
  } catch {
    return false;
  }
}
