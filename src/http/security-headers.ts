import fp from 'fastify-plugin';
import { randomToken } from '../crypto/random-token.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** fresh per response: the only inline script or style a page may run carries it */
    cspNonce: string;
  }
  interface FastifyReply {
    /** origins a page's forms may post to besides our own (the app receiving a grant) */
    formActionOrigins: string[];
    /** origins a page may frame (front-channel logout of apps) */
    frameSrcOrigins: string[];
  }
}

function contentSecurityPolicy(nonce: string, formActionOrigins: readonly string[], frameSrcOrigins: readonly string[]): string {
  return [
    ...(frameSrcOrigins.length > 0 ? [`frame-src ${frameSrcOrigins.join(' ')}`] : []),
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    "img-src 'self' data:",
    `form-action 'self'${formActionOrigins.map((origin) => ` ${origin}`).join('')}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
  ].join('; ');
}

export interface SecurityHeadersOptions {
  /** send HSTS: the server is reached over https (directly or through a trusted proxy) */
  readonly hsts: boolean;
}

/** Headers every response carries, and the CSP every HTML page carries. */
export const securityHeaders = fp<SecurityHeadersOptions>(
  async (app, { hsts }) => {
    app.decorateRequest('cspNonce', '');
    app.decorateReply('formActionOrigins', null as unknown as string[]);
    app.decorateReply('frameSrcOrigins', null as unknown as string[]);
    app.addHook('onRequest', async (request, reply) => {
      request.cspNonce = randomToken(16, 'base64');
      reply.formActionOrigins = [];
      reply.frameSrcOrigins = [];
    });
    app.addHook('onSend', async (request, reply, payload) => {
      reply.header('X-Content-Type-Options', 'nosniff');
      reply.header('Referrer-Policy', 'no-referrer');
      reply.header('Cross-Origin-Opener-Policy', 'same-origin');
      reply.header('Cross-Origin-Resource-Policy', 'same-origin');
      if (hsts) reply.header('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
      const type = String(reply.getHeader('content-type') ?? '');
      if (type.startsWith('text/html')) {
        reply.header('Content-Security-Policy', contentSecurityPolicy(request.cspNonce, reply.formActionOrigins, reply.frameSrcOrigins));
        reply.header('X-Frame-Options', 'DENY');
      }
      if (!reply.hasHeader('Cache-Control')) reply.header('Cache-Control', 'no-store');
      return payload;
    });
  },
  { name: 'webiso-security-headers', fastify: '5.x' },
);
