import { readFileSync } from 'node:fs';
import type { Server as HttpsServer } from 'node:https';
import { createSecureContext } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import { ConfigError } from '../config/load.ts';
import type { WebisoConfig } from '../config/schema.ts';
import type { TlsConfig } from './config-schema.ts';

/**
 * HTTPS served by webiso itself: `tls.certFile` (PEM chain) and `tls.keyFile` (PEM key). On SIGHUP
 * the files are read again and swapped in for new connections; a broken pair is refused and the
 * old certificate stays (a typo in a renewal script must not take the login server down).
 */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
}

function readPem(path: string, option: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError(`invalid configuration: ${option}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/** Reads and checks the pair: createSecureContext fails on a bad PEM or a key that does not match. */
export function readTlsMaterial(tls: TlsConfig): TlsMaterial {
  const material = { cert: readPem(tls.certFile, 'tls.certFile'), key: readPem(tls.keyFile, 'tls.keyFile') };
  try {
    createSecureContext(material);
  } catch (error) {
    throw new ConfigError(`invalid configuration: tls.keyFile: not a usable certificate and key pair: ${(error as Error).message}`);
  }
  return material;
}

/** Fastify's `https` option when TLS is configured (typed loosely: buildApp's instance type stays the plain one). */
export function httpsOption(config: WebisoConfig): object {
  return config.tls ? { https: readTlsMaterial(config.tls) } : {};
}

/** Swaps in the certificate files' current contents; true when the new pair is in use. */
export function reloadCertificate(app: FastifyInstance, tls: TlsConfig): boolean {
  try {
    const material = readTlsMaterial(tls);
    (app.server as unknown as HttpsServer).setSecureContext(material);
    app.log.info({ event: 'tls.reloaded', certFile: tls.certFile }, 'tls.reloaded');
    return true;
  } catch (error) {
    app.log.error({ event: 'tls.reload_failed', certFile: tls.certFile, error: (error as Error).message }, 'tls.reload_failed: keeping the previous certificate');
    return false;
  }
}

/** Installs the SIGHUP handler when webiso serves TLS itself; returns its remover. */
export function reloadOnSighup(app: FastifyInstance, config: WebisoConfig): () => void {
  const { tls } = config;
  if (!tls) return () => undefined;
  const onHup = () => void reloadCertificate(app, tls);
  process.on('SIGHUP', onHup);
  return () => process.removeListener('SIGHUP', onHup);
}
