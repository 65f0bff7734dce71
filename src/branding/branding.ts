import { readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import fp from 'fastify-plugin';
import type { BrandingConfig } from './config-schema.ts';

/** What every template sees as `it.branding` (views/layout.eta, views/login.eta). */
export interface BrandingView {
  readonly institution: string;
  readonly logo: boolean;
  readonly accent: string;
  readonly accentDark: string;
  readonly support: { readonly text?: string | undefined; readonly email?: string | undefined; readonly url?: string | undefined } | undefined;
  readonly footer: string | undefined;
  readonly themeCss: boolean;
}

const MAX_ASSET_BYTES = 512 * 1024;
const LOGO_TYPES: Readonly<Record<string, string>> = { '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.svg': 'image/svg+xml' };

export interface Branding {
  readonly view: BrandingView;
  readonly logo: { readonly type: string; readonly bytes: Buffer } | undefined;
  readonly themeCss: string | undefined;
}

function readAsset(path: string, what: string): Buffer {
  const size = statSync(path).size;
  if (size > MAX_ASSET_BYTES) throw new Error(`branding: the ${what} ${path} is larger than ${MAX_ASSET_BYTES} bytes`);
  return readFileSync(path);
}

function readThemeCss(themeDir: string | undefined): string | undefined {
  if (!themeDir) return undefined;
  try {
    return readAsset(join(themeDir, 'theme.css'), 'theme stylesheet').toString('utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Reads the logo and theme.css once at start-up: a missing or oversized file fails the start, not a page. */
export function loadBranding(config: BrandingConfig | undefined): Branding {
  const logo = config?.logoFile ? { type: LOGO_TYPES[extname(config.logoFile).toLowerCase()] ?? 'application/octet-stream', bytes: readAsset(config.logoFile, 'logo') } : undefined;
  const themeCss = readThemeCss(config?.themeDir);
  return {
    logo,
    themeCss,
    view: {
      institution: config?.institution ?? 'webiso',
      logo: logo !== undefined,
      accent: config?.colors.accent ?? '#0b57d0',
      accentDark: config?.colors.accentDark ?? '#9cc0ff',
      support: config?.support,
      footer: config?.footer,
      themeCss: themeCss !== undefined,
    },
  };
}

/** /branding/logo and /branding/theme.css: same origin, so the strict CSP (img-src, style-src 'self') allows them. */
export const brandingRoutes = fp(
  async (app, options: { branding: Branding }) => {
    const { logo, themeCss } = options.branding;
    if (logo) app.get('/branding/logo', async (_request, reply) => reply.header('cache-control', 'public, max-age=3600').header('x-content-type-options', 'nosniff').type(logo.type).send(logo.bytes));
    if (themeCss !== undefined) app.get('/branding/theme.css', async (_request, reply) => reply.header('cache-control', 'public, max-age=3600').type('text/css; charset=utf-8').send(themeCss));
  },
  { name: 'webiso-branding', fastify: '5.x' },
);
