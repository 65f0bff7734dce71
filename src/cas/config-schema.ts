import { z } from 'zod';
import { parseReturnUrl } from '../login/return-url.ts';

/**
 * The CAS parts of the config: `apps[].cas` (which services an app is, and its flavor) and the
 * top-level `cas` section. src/config/schema.ts mounts them; docs/configuration.md describes them.
 */

/** The flavors a CAS service may use: getcred needs the native protocol to carry the ticket. */
export const CAS_FLAVORS = ['basic', 'machineoruser'] as const;

const serviceUrl = z.string().refine(
  (value) => {
    const url = parseReturnUrl(value);
    return url !== undefined && url.search === '';
  },
  { message: 'must be an absolute http(s) URL without credentials, query, fragment or encoded dots and slashes' },
);

export const appCasSchema = z
  .object({
    /** a service matches when scheme, host and port are equal and its path equals or lies under one of these paths; any query */
    services: z.array(serviceUrl).min(1).max(100),
    flavor: z.enum(CAS_FLAVORS).default('basic'),
    /** CAS single logout: POST a SAML LogoutRequest to the service URL when the session ends (mod_auth_cas: CASSSOEnabled On) */
    singleLogout: z.boolean().default(false),
  })
  .strict();

export const casSchema = z
  .object({
    /** how long a service ticket may wait for its validation; CAS 3.0 recommends at most 5 minutes, we allow at most 60 s */
    ticketLifetimeSeconds: z.number().int().min(5).max(60).default(60),
    /** cas:user of a kiosk machine; the `/` keeps it apart from every username (usernames with `/` are never released by CAS) */
    machineUserPattern: z
      .string()
      .max(100)
      .refine((pattern) => pattern.split('{fqdn}').length === 2, { message: 'must contain {fqdn} exactly once' })
      .refine((pattern) => pattern.replace('{fqdn}', '').includes('/'), { message: 'must contain a "/" besides {fqdn}, so that no username can equal it' })
      .default('host/{fqdn}'),
  })
  .strict()
  .prefault({});

export type AppCasConfig = z.infer<typeof appCasSchema>;
export type CasConfig = z.infer<typeof casSchema>;
