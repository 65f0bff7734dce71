import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyRequest } from 'fastify';
import { ConfigError } from '../config/load.ts';
import type { OpsConfig } from './config-schema.ts';

/**
 * Who may read `/metrics` (and the detail of `/readyz`): direct loopback connections by default, or
 * holders of a bearer token read once from ops.metrics.tokenFile. The token never reaches a log.
 */
export type OpsAccess = (request: FastifyRequest) => boolean;

const FORWARDING_HEADERS = ['forwarded', 'x-forwarded-for', 'x-real-ip'];

function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  return address === '::1' || /^(::ffff:)?127\./.test(address);
}

/** The socket, not request.ip: a trusted proxy on the same host would make every visitor "loopback". */
function loopbackAccess(request: FastifyRequest): boolean {
  return isLoopback(request.socket.remoteAddress) && FORWARDING_HEADERS.every((name) => request.headers[name] === undefined);
}

export function readTokenFile(path: string): string {
  let token: string;
  try {
    token = readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw new ConfigError(`invalid configuration: ops.metrics.tokenFile: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (token.length < 16) throw new ConfigError('invalid configuration: ops.metrics.tokenFile: the token must be at least 16 characters');
  return token;
}

/** Digests make the comparison constant-time whatever the presented length. */
const digest = (value: string) => createHash('sha256').update(value).digest();

function tokenAccess(token: string): OpsAccess {
  const expected = digest(token);
  return (request) => {
    const match = /^Bearer ([^\s]+)$/.exec(request.headers.authorization ?? '');
    return match?.[1] !== undefined && timingSafeEqual(digest(match[1]), expected);
  };
}

export function createOpsAccess(config: OpsConfig['metrics']): OpsAccess {
  if (config.access === 'token' && config.tokenFile !== undefined) return tokenAccess(readTokenFile(config.tokenFile));
  return loopbackAccess;
}
