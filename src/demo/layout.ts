import { html, SafeHtml } from './html.ts';

/** Inline styles only, no scripts: the CSP below forbids everything else. */
export const DEMO_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const STYLE = `
body{font-family:system-ui,sans-serif;max-width:44rem;margin:2.5rem auto;padding:0 1rem;color:#1d1d1f;line-height:1.5}
header{display:flex;justify-content:space-between;align-items:baseline;border-bottom:1px solid #ddd;margin-bottom:1.5rem}
nav a,nav button{margin-left:1rem}
button.link{background:none;border:none;color:#0645ad;text-decoration:underline;cursor:pointer;font:inherit;padding:0}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}
dt{font-weight:600}
dd{margin:0}
code{background:#f3f3f3;padding:.1rem .3rem}
.note{color:#555}
`;

export function layout(title: string, body: SafeHtml): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · webiso demo app</title>
<style>${new SafeHtml(STYLE)}</style>
</head>
<body>
<header><h1>webiso demo app</h1><nav><a href="/">Home</a></nav></header>
<main>
<h2>${title}</h2>
${body}
</main>
</body>
</html>
`.value;
}
