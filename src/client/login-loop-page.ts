import type { FastifyReply, FastifyRequest } from 'fastify';
import { escapeHtml, renderPage } from './html.ts';
import { safeLocalPath } from './local-path.ts';
import type { LoginLoopDecision, LoginLoopSettings } from './login-loop-guard.ts';
import { sendHtml } from './plugin-pages.ts';

/** The stable `event` of the log line, and the code on the page, for support to search for. */
export const LOOP_STOPPED_EVENT = 'webiso.client.loop_stopped';
export const LOOP_STOPPED_CODE = 'login_loop_stopped';

/**
 * 429 like webiso's own breaker: "too many requests in a given amount of time" is what happened,
 * and Retry-After says when to try again. Not 508 (WebDAV's server-side loop) nor any 5xx, which
 * proxies and monitors read as the app being down and may replace with their own page.
 */
export const LOOP_STOPPED_STATUS = 429;

export interface LoginLoopPage {
  logins: number;
  windowSeconds: number;
  retryAfterSeconds: number;
  /** A local path (already checked): the page the browser asked for. */
  retryPath: string;
}

function duration(seconds: number): string {
  if (seconds === 60) return 'a minute';
  if (seconds % 60 === 0) return `${seconds / 60} minutes`;
  return seconds === 1 ? '1 second' : `${seconds} seconds`;
}

/** Plain markup under the plugin's CSP: no script, no inline style attribute, no auto-refresh (that would loop again). */
export function renderLoginLoopPage(page: LoginLoopPage): string {
  const body = `<p class="notice" id="login-loop">This application and the login server have sent your browser back and forth ${escapeHtml(page.logins)} times within ${escapeHtml(duration(page.windowSeconds))} without completing your login. The application stopped here so that your browser does not keep going round.</p>
<p>This usually means the application refuses the login server's answers, because</p>
<ul>
<li>the application's clock is off by more than the allowed skew, so every answer looks expired or not yet valid,</li>
<li>the application is configured with the wrong issuer or app id (audience) for this login server, or</li>
<li>this browser blocks the application's cookies.</li>
</ul>
<p>What you can do:</p>
<ul>
<li>Wait ${escapeHtml(duration(page.retryAfterSeconds))}, then try again with the link below. If your browser blocks cookies for this site, allow them first.</li>
<li>If it happens again, contact the application's administrators and tell them the error code below and when it happened.</li>
</ul>
<p><a href="${escapeHtml(page.retryPath)}" id="login-loop-retry">Try again</a> <span class="note">(after ${escapeHtml(duration(page.retryAfterSeconds))})</span></p>
<p class="note">Error code: <code>${LOOP_STOPPED_CODE}</code></p>`;
  return renderPage('Login loop stopped', body);
}

export interface StopLoginLoop {
  appId: string;
  settings: LoginLoopSettings;
  decision: Extract<LoginLoopDecision, { stop: true }>;
  /** A passive route serves anonymous visitors: it goes on without an identity instead of the page. */
  passive: boolean;
}

/** Logs the stop once per refused redirect; answers the page, or undefined to let a passive route run anonymously. */
export function stopLoginLoop(request: FastifyRequest, reply: FastifyReply, stop: StopLoginLoop): FastifyReply | undefined {
  const { logins, retryAfterSeconds } = stop.decision;
  request.log.warn(
    {
      event: LOOP_STOPPED_EVENT,
      appId: stop.appId,
      logins,
      windowSeconds: stop.settings.windowSeconds,
      retryAfterSeconds,
      route: request.routeOptions.url,
      passive: stop.passive,
    },
    'webiso login loop stopped',
  );
  if (stop.passive) return undefined;
  reply.header('retry-after', String(retryAfterSeconds));
  const html = renderLoginLoopPage({ logins, windowSeconds: stop.settings.windowSeconds, retryAfterSeconds, retryPath: safeLocalPath(request.url) });
  return sendHtml(reply, LOOP_STOPPED_STATUS, html);
}
