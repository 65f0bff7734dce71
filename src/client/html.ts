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
  /** A stable error code, shown for support. Omit it on pages that only explain what to do next. */
  code?: string;
  detail?: string;
}

/** The same look as webiso's own pages, so a person moving between them sees one service. */
const PAGE_STYLE = `:root{color-scheme:light dark;font-family:system-ui,sans-serif}
body{max-width:34rem;margin:3rem auto;padding:0 1rem;line-height:1.5}
h1{font-size:1.5rem}
.error{border-left:4px solid #c0392b;padding:.5rem .8rem;background:rgba(192,57,43,.08)}
.notice{border-left:4px solid #2c6db5;padding:.5rem .8rem;background:rgba(44,109,181,.08)}
.note{color:#666;font-size:.9rem}
code{word-break:break-all}`;

export function renderErrorPage(page: ErrorPage): string {
  const detail = page.detail === undefined || page.detail === '' ? '' : `<p class="${page.code === undefined ? 'notice' : 'error'}">${escapeHtml(page.detail)}</p>`;
  const code = page.code === undefined ? '' : `<p class="note">Error code: <code>${escapeHtml(page.code)}</code></p>`;
  return renderPage(page.title, `${detail}\n${code}`);
}

/** The page shell every plugin page shares; `bodyHtml` goes under the heading and must be escaped already. */
export function renderPage(title: string, bodyHtml: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
${bodyHtml}
<p><a href="/">Return to the home page</a></p>
</main>
</body>
</html>
`;
}
