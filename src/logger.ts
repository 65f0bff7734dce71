import type { LoggerOptions } from 'pino';

/**
 * Paths that must never reach a log line. Fastify logs request headers only at debug level,
 * but the redaction holds whatever the level.
 */
export const REDACT_PATHS = [
  'req.headers.cookie',
  'req.headers.authorization',
  'res.headers["set-cookie"]',
  'headers.cookie',
  'headers["set-cookie"]',
  'password',
  '*.password',
  'grant',
  '*.grant',
  'token',
  '*.token',
  'csrf',
  '*.csrf',
  'creds',
  '*.creds',
];

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: () => `,"time":"${new Date().toISOString()}"`,
    serializers: {
      // Only the path: query strings can carry nonces and return URLs that are not ours to log.
      req(request: { method: string; url: string; id: string; ip?: string }) {
        return { method: request.method, path: request.url.split('?')[0], reqId: request.id, ip: request.ip };
      },
    },
  };
}
