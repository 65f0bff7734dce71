import type { FastifyReply } from 'fastify';
import type { WebisoClientError } from './errors.ts';
import { ERROR_PAGE_CSP, renderErrorPage, type ErrorPage } from './html.ts';

function statusForError(error: WebisoClientError): number {
  switch (error.code) {
    case 'grant_missing':
    case 'grant_malformed':
    case 'login_state_missing':
      return 400;
    case 'jwks_unavailable':
    case 'replay_store_unavailable':
      return 503;
    case 'login_error':
      return error.error === 'temporarily_unavailable' ? 503 : 401;
    default:
      return 401;
  }
}

export function sendPage(reply: FastifyReply, status: number, page: ErrorPage): FastifyReply {
  return sendHtml(reply, status, renderErrorPage(page));
}

/** Every plugin page goes out with the same headers: no caching, no scripts, no sniffing. */
export function sendHtml(reply: FastifyReply, status: number, html: string): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('content-security-policy', ERROR_PAGE_CSP)
    .header('x-content-type-options', 'nosniff')
    .send(html);
}

export function sendClientError(reply: FastifyReply, error: WebisoClientError): FastifyReply {
  const title = error.code === 'login_error' ? 'Login did not complete' : 'Login could not be verified';
  const code = error.code === 'login_error' && error.error !== undefined ? `login_error: ${error.error}` : error.code;
  const page: ErrorPage = error.errorDescription === undefined ? { title, code } : { title, code, detail: error.errorDescription };
  return sendPage(reply, statusForError(error), page);
}

/** The ended-session store could not be asked: refuse rather than guess (fail closed). */
export function sendSessionStoreUnavailable(reply: FastifyReply): FastifyReply {
  return sendPage(reply, 503, {
    title: 'Sign-in is temporarily unavailable',
    code: 'session_store_unavailable',
    detail: 'This app cannot check your session right now. Try again in a moment.',
  });
}
