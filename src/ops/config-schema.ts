import { z } from 'zod';

/**
 * Operations options: who may read `/metrics`, how `/readyz` checks the back-end, and the
 * certificate webiso serves itself (`tls`). Mounted by src/config/schema.ts; described in
 * docs/configuration.md and docs/operations.md.
 */
const metricsSchema = z
  .object({
    enabled: z.boolean().default(true),
    /**
     * loopback: only direct connections from 127.0.0.0/8 or ::1 that carry no forwarding header
     * (a proxy on the same host must not turn every visitor into a loopback client);
     * token: `Authorization: Bearer <token>` with the token read from tokenFile, from any address.
     */
    access: z.enum(['loopback', 'token']).default('loopback'),
    tokenFile: z.string().min(1).optional(),
  })
  .strict()
  .refine((metrics) => metrics.access !== 'token' || metrics.tokenFile !== undefined, { message: 'access: token needs tokenFile', path: ['tokenFile'] });

const readinessSchema = z
  .object({
    /** budget of one reachability check of the LDAP server or KDC */
    backendTimeoutSeconds: z.number().min(0.1).max(10).default(1),
    /** a check's result is reused this long, so a busy prober does not hammer the back-end */
    backendCacheSeconds: z.number().min(0).max(300).default(10),
  })
  .strict();

export const opsSchema = z
  .object({
    metrics: metricsSchema.prefault({}),
    readiness: readinessSchema.prefault({}),
  })
  .strict()
  .prefault({});

/** HTTPS served by webiso itself (small sites without a proxy); PEM files, reloaded on SIGHUP. */
export const tlsSchema = z
  .object({
    certFile: z.string().min(1),
    keyFile: z.string().min(1),
  })
  .strict()
  .optional();

export type OpsConfig = z.infer<typeof opsSchema>;
export type TlsConfig = NonNullable<z.infer<typeof tlsSchema>>;
