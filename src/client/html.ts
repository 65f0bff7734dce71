const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch] ?? ch);
}

/** No scripts, no external loads: the page only explains and offers a way home. */
export const ERROR_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export interface ErrorPage {
  title: string;
  code: string;
  detail?: string;
  /** Offer a button that ends the app session (e.g. a kiosk machine session on a personal page). */
  logoutPath?: string;
}

export function renderErrorPage(page: ErrorPage): string {
  const detail = page.detail === undefined || page.detail === '' ? '' : `<p>${escapeHtml(page.detail)}</p>`;
  const logout =
    page.logoutPath === undefined
      ? ''
      : `<form method="post" action="${escapeHtml(page.logoutPath)}"><button type="submit">Log out of this app</button></form>`;
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#222}code{background:#f3f3f3;padding:.1rem .3rem}</style>
</head>
<body>
<h1>${escapeHtml(page.title)}</h1>
<p>Error code: <code>${escapeHtml(page.code)}</code></p>
${detail}
${logout}
<p><a href="/">Return to the home page</a></p>
</body>
</html>
`;
}
