import { readFileSync } from 'node:fs';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { Config } from './config.ts';

export interface TlsFiles { cert: Buffer; key: Buffer }

export class TlsFilesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TlsFilesError';
  }
}

function read(name: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new TlsFilesError(`${name} (${path}) could not be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/**
 * The certificate chain and key for HTTPS (TLS_CERT_FILE, TLS_KEY_FILE), read and checked at start,
 * before the port is taken, so a wrong path or a key that is not the certificate's fails at once with
 * one clear line. Undefined when TLS is not configured (plain HTTP, e.g. behind a reverse proxy).
 */
export function readTlsFiles(config: Pick<Config, 'tls'>): TlsFiles | undefined {
  if (!config.tls) return undefined;
  const cert = read('TLS_CERT_FILE', config.tls.certFile);
  const key = read('TLS_KEY_FILE', config.tls.keyFile);
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch {
    throw new TlsFilesError(`TLS_CERT_FILE (${config.tls.certFile}) is not a PEM certificate`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new TlsFilesError(`TLS_KEY_FILE (${config.tls.keyFile}) is not an unencrypted PEM private key`);
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new TlsFilesError('TLS_KEY_FILE is not the private key of the certificate in TLS_CERT_FILE');
  }
  return { cert, key };
}
