import { z } from 'zod';

/** Durations are written in seconds in the config file. */
const seconds = (min: number, max: number) => z.number().int().min(min).max(max);

const absoluteUrl = z.string().refine(
  (value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'https:' || url.protocol === 'http:') && url.username === '' && url.password === '' && url.hash === '' && url.search === '';
    } catch {
      return false;
    }
  },
  { message: 'must be an absolute http(s) URL without credentials, query or fragment' },
);

export const FLAVOR_NAMES = ['basic', 'getcred', 'machineoruser'] as const;
export type FlavorName = (typeof FLAVOR_NAMES)[number];

const appSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be 1-64 characters of a-z, 0-9, ".", "_", "-"'),
    name: z.string().min(1).max(200),
    returnUrls: z.array(absoluteUrl).min(1),
    flavors: z.array(z.enum(FLAVOR_NAMES)).min(1).default(['basic']),
  })
  .strict();

export const configSchema = z
  .object({
    mode: z.enum(['development', 'production']).default('development'),
    issuer: absoluteUrl,
    listen: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8080),
      })
      .strict()
      .prefault({}),
    dataDir: z.string().min(1).default('./data'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    session: z
      .object({
        idleSeconds: seconds(60, 86_400).default(1800),
        absoluteSeconds: seconds(300, 7 * 86_400).default(28_800),
      })
      .strict()
      .prefault({}),
    grant: z
      .object({
        lifetimeSeconds: seconds(10, 300).default(60),
        algorithm: z.enum(['EdDSA', 'ES256']).default('EdDSA'),
      })
      .strict()
      .prefault({}),
    throttle: z
      .object({
        windowSeconds: seconds(60, 86_400).default(900),
        maxFailuresPerAccount: z.number().int().min(1).max(100).default(10),
        maxFailuresPerIp: z.number().int().min(1).max(100_000).default(100),
      })
      .strict()
      .prefault({}),
    trustedProxies: z.array(z.string().min(1)).default([]),
    verifier: z
      .discriminatedUnion('kind', [z.object({ kind: z.literal('local') }).strict()])
      .default({ kind: 'local' }),
    apps: z.array(appSchema).min(1),
  })
  .strict()
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.apps.forEach((app, index) => {
      if (seen.has(app.id)) ctx.addIssue({ code: 'custom', path: ['apps', index, 'id'], message: `duplicate app id "${app.id}"` });
      seen.add(app.id);
    });
    if (config.session.idleSeconds > config.session.absoluteSeconds) {
      ctx.addIssue({ code: 'custom', path: ['session', 'idleSeconds'], message: 'must not exceed session.absoluteSeconds' });
    }
    if (config.mode === 'production') {
      if (!config.issuer.startsWith('https://')) {
        ctx.addIssue({ code: 'custom', path: ['issuer'], message: 'must be an https:// URL in production mode' });
      }
      config.apps.forEach((app, appIndex) =>
        app.returnUrls.forEach((url, urlIndex) => {
          if (!url.startsWith('https://')) {
            ctx.addIssue({ code: 'custom', path: ['apps', appIndex, 'returnUrls', urlIndex], message: 'must be an https:// URL in production mode' });
          }
        }),
      );
    }
  });

export type WebisoConfig = z.infer<typeof configSchema>;
export type AppConfig = WebisoConfig['apps'][number];
