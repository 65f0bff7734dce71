import { z } from 'zod';
import { brandingSchema } from '../branding/config-schema.ts';
import { appCasSchema, casSchema } from '../cas/config-schema.ts';
import { appLogoutSchema, logoutSchema } from '../logout/config-schema.ts';
import { retentionSchema } from '../retention/config-schema.ts';
import { machinesConfigSchema } from '../machines/config-schema.ts';
import { appOidcSchema, checkOidcClients, oidcSchema } from '../oidc/config-schema.ts';
import { opsSchema, tlsSchema } from '../ops/config-schema.ts';
import { storeSchema } from '../store/config-schema.ts';

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

const timeoutSeconds = z.number().min(0.1).max(60).default(5);

// unset: src/verifiers/hash-concurrency.ts picks it from the cores, the workers and libuv's pool
const localVerifierSchema = z.object({ kind: z.literal('local'), maxConcurrentHashes: z.number().int().min(1).max(64).optional() }).strict();

const ldapVerifierSchema = z
  .object({
    kind: z.literal('ldap'),
    url: z.string().regex(/^ldaps?:\/\/[^\s/]+\/?$/, 'must be ldap://host[:port] or ldaps://host[:port]'),
    baseDn: z.string().min(1),
    userFilter: z.string().includes('{username}', { message: 'must contain {username}' }).default('(uid={username})'),
    usernameAttribute: z.string().regex(/^[A-Za-z][A-Za-z0-9-]*$/).default('uid'),
    /** service account for the user search; without it the search is anonymous */
    bindDn: z.string().min(1).optional(),
    /** file holding the service account's password (secrets stay out of the config file) */
    bindPasswordFile: z.string().min(1).optional(),
    timeoutSeconds,
    groupBaseDn: z.string().min(1).optional(),
    groupFilter: z.string().includes('{dn}', { message: 'must contain {dn}' }).default('(member={dn})'),
    /** directory group (cn or DN) → webiso roles, e.g. { webiso-admins: [admin] } */
    groupRoles: z.record(z.string().min(1), z.array(z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/))).default({}),
  })
  .strict()
  .refine((ldap) => (ldap.bindDn === undefined) === (ldap.bindPasswordFile === undefined), {
    message: 'bindDn and bindPasswordFile go together',
    path: ['bindPasswordFile'],
  });

const kerberosVerifierSchema = z
  .object({
    kind: z.literal('kerberos'),
    /** realms users may log in to; the first is the default realm */
    realms: z.array(z.string().regex(/^[A-Z0-9][A-Z0-9.-]*$/, 'must be an upper-case realm name')).min(1),
    /** webiso's own service principal; its key must be in the keytab */
    servicePrincipal: z.string().min(3),
    keytab: z.string().min(1),
    krb5Config: z.string().min(1).optional(),
    /** accept a bare "user" for the default realm (Pubcookie's append realm) */
    appendRealm: z.boolean().default(true),
    timeoutSeconds,
  })
  .strict();

/** getcred: which Kerberos services an app may receive tickets for, and the key they are encrypted to. */
const getcredAppSchema = z
  .object({
    /** the app's public key (JWK: EC P-256/P-384/P-521 or OKP X25519); tickets are encrypted to it with ECDH-ES+A256KW / A256GCM */
    publicKey: z
      .object({ kty: z.enum(['EC', 'OKP']), crv: z.enum(['P-256', 'P-384', 'P-521', 'X25519']), x: z.string().min(1), y: z.string().min(1).optional(), kid: z.string().optional() })
      .strict()
      .optional(),
    /** deny by default; the most specific matching rule wins (exact name over pattern, longer pattern over shorter, deny on a tie) */
    targets: z.array(z.object({ pattern: z.string().min(3).max(256), allow: z.boolean().default(true) }).strict()).default([]),
    /** show the person a page naming the app and the service before any ticket is handed over */
    confirm: z.boolean().default(false),
  })
  .strict();

const appSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be 1-64 characters of a-z, 0-9, ".", "_", "-"'),
    name: z.string().min(1).max(200),
    /** native protocol return URLs; may be empty for an app that only speaks CAS */
    returnUrls: z.array(absoluteUrl).default([]),
    flavors: z.array(z.enum(FLAVOR_NAMES)).min(1).default(['basic']),
    getcred: getcredAppSchema.optional(),
    cas: appCasSchema.optional(),
    logout: appLogoutSchema.optional(),
    oidc: appOidcSchema.optional(),
  })
  .strict()
  .refine((app) => app.returnUrls.length > 0 || app.cas !== undefined || app.oidc !== undefined, { message: 'an app needs returnUrls (native protocol), an oidc section or a cas section', path: ['returnUrls'] });

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
    store: storeSchema,
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    session: z
      .object({
        idleSeconds: seconds(60, 86_400).default(1800),
        absoluteSeconds: seconds(300, 7 * 86_400).default(28_800),
        // sessions started in a browser that holds a machine cookie (a kiosk): docs/machines.md
        kioskIdleSeconds: seconds(60, 86_400).default(600),
        kioskAbsoluteSeconds: seconds(300, 86_400).default(1800),
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
    /** redirect-loop breaker (src/login/loop-guard.ts): silent answers per session and app per window; 0 turns it off */
    loopGuard: z
      .object({ maxAnswers: z.number().int().min(0).max(10_000).default(10), windowSeconds: seconds(1, 3600).default(30) })
      .strict()
      .prefault({}),
    verifier: z.discriminatedUnion('kind', [localVerifierSchema, ldapVerifierSchema, kerberosVerifierSchema]).default({ kind: 'local' }),
    apps: z.array(appSchema).min(1),
    machines: machinesConfigSchema,
    cas: casSchema,
    logout: logoutSchema,
    retention: retentionSchema,
    oidc: oidcSchema,
    ops: opsSchema,
    tls: tlsSchema,
    branding: brandingSchema.optional(),
  })
  .strict()
  .superRefine((config, ctx) => {
    checkOidcClients(config, ctx);
    const seen = new Set<string>();
    config.apps.forEach((app, index) => {
      if (seen.has(app.id)) ctx.addIssue({ code: 'custom', path: ['apps', index, 'id'], message: `duplicate app id "${app.id}"` });
      seen.add(app.id);
    });
    if (config.session.idleSeconds > config.session.absoluteSeconds) {
      ctx.addIssue({ code: 'custom', path: ['session', 'idleSeconds'], message: 'must not exceed session.absoluteSeconds' });
    }
    config.apps.forEach((app, index) => {
      // getcred needs the user's password to reach a KDC: only the Kerberos verifier can get tickets.
      if (app.flavors.includes('getcred') && config.verifier.kind !== 'kerberos') {
        ctx.addIssue({ code: 'custom', path: ['apps', index, 'flavors'], message: 'getcred needs verifier.kind: kerberos' });
      }
      if (app.flavors.includes('getcred') && app.getcred === undefined) {
        ctx.addIssue({ code: 'custom', path: ['apps', index, 'getcred'], message: 'an app allowed the getcred flavor needs a getcred section (targets, publicKey)' });
      }
    });
    if (config.session.kioskIdleSeconds > config.session.kioskAbsoluteSeconds) {
      ctx.addIssue({ code: 'custom', path: ['session', 'kioskIdleSeconds'], message: 'must not exceed session.kioskAbsoluteSeconds' });
    }
    if (config.mode === 'production') {
      if (!config.issuer.startsWith('https://')) {
        ctx.addIssue({ code: 'custom', path: ['issuer'], message: 'must be an https:// URL in production mode' });
      }
      config.apps.forEach((app, appIndex) => {
        app.returnUrls.forEach((url, urlIndex) => {
          if (!url.startsWith('https://')) {
            ctx.addIssue({ code: 'custom', path: ['apps', appIndex, 'returnUrls', urlIndex], message: 'must be an https:// URL in production mode' });
          }
        });
        for (const channel of ['backchannelUrl', 'frontchannelUrl'] as const) {
          const url = app.logout?.[channel];
          if (url !== undefined && !url.startsWith('https://')) {
            ctx.addIssue({ code: 'custom', path: ['apps', appIndex, 'logout', channel], message: 'must be an https:// URL in production mode' });
          }
        }
        app.cas?.services.forEach((url, urlIndex) => {
          if (!url.startsWith('https://')) {
            ctx.addIssue({ code: 'custom', path: ['apps', appIndex, 'cas', 'services', urlIndex], message: 'must be an https:// URL in production mode' });
          }
        });
      });
    }
  });

export type WebisoConfig = z.infer<typeof configSchema>;
export type AppConfig = WebisoConfig['apps'][number];
export type VerifierConfig = WebisoConfig['verifier'];
