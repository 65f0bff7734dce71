import { Eta } from 'eta';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { VIEWS_DIR } from '../http/views.ts';
import { LANGUAGE_COOKIE, negotiateLanguage } from '../i18n/languages.ts';
import { i18nLocals } from '../i18n/view-locals.ts';
import { randomToken } from '../crypto/random-token.ts';

/**
 * Pages oidc-provider renders itself (outside Fastify's reply): the error page of a request that
 * cannot be sent back to the client — unknown client, redirect URI not registered exactly — is
 * webiso's own error page with webiso's CSP. Nothing is redirected anywhere.
 */
const eta = new Eta({ views: VIEWS_DIR, cache: true, autoEscape: true, autoTrim: false });

function csp(nonce: string): string {
  return [`default-src 'none'`, `style-src 'nonce-${nonce}'`, `img-src 'self' data:`, `form-action 'self'`, `frame-ancestors 'none'`, `base-uri 'none'`, `object-src 'none'`].join('; ');
}

/** Descriptions oidc-provider writes for developers, rephrased for the person at the browser. */
function describe(out: { error?: string; error_description?: string }): string {
  if (out.error_description?.includes('redirect_uri')) return 'The application sent you here with a return address that is not registered with webiso, so you cannot log in to it from here. Nothing was sent to it.';
  if (out.error === 'invalid_client') return 'The application that sent you here is not registered with webiso. Nothing was sent to it.';
  return out.error_description ?? 'The login request could not be understood.';
}

export async function renderProviderError(ctx: KoaContextWithOIDC, out: { error?: string; error_description?: string }): Promise<void> {
  const nonce = randomToken(16, 'base64');
  const wantsHtml = (ctx.get('accept') || '').includes('text/html');
  const code = `oidc_${out.error ?? 'invalid_request'}`;
  ctx.set('Cache-Control', 'no-store');
  if (!wantsHtml) {
    ctx.type = 'application/json; charset=utf-8';
    ctx.body = { error: out.error ?? 'invalid_request', error_description: describe(out) };
    return;
  }
  ctx.set('Content-Security-Policy', csp(nonce));
  ctx.set('X-Frame-Options', 'DENY');
  ctx.type = 'text/html; charset=utf-8';
  // the templates need it.t and friends (src/i18n, docs/i18n.md)
  const i18n = i18nLocals(negotiateLanguage(ctx.get('accept-language'), ctx.cookies.get(LANGUAGE_COOKIE)));
  ctx.body = eta.render('./error', { ...i18n, title: 'Request refused', code, description: describe(out), requestId: '-', cspNonce: nonce });
}
