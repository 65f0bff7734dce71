import { z } from 'zod';

/** The embedded default: one SQLite file (default `<dataDir>/webiso.db`), one host. */
const sqliteStoreSchema = z
  .object({
    kind: z.literal('sqlite'),
    /** the database file; default `<dataDir>/webiso.db` */
    path: z.string().min(1).optional(),
  })
  .strict();

/** PostgreSQL shared by several webiso hosts (docs/operations.md#many-hosts). */
const postgresStoreSchema = z
  .object({
    kind: z.literal('postgres'),
    /** postgres://user@host:port/database, without a password (use passwordFile) */
    url: z
      .string()
      .refine((value) => {
        try {
          const url = new URL(value);
          return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.password === '';
        } catch {
          return false;
        }
      }, 'must be a postgres:// URL without a password (put the password in passwordFile)')
      .optional(),
    host: z.string().min(1).optional(),
    port: z.number().int().min(1).max(65535).optional(),
    database: z.string().min(1).optional(),
    user: z.string().min(1).optional(),
    /** file holding the password; secrets stay out of the config file */
    passwordFile: z.string().min(1).optional(),
    /** schema holding webiso's tables, created if missing; default `public` */
    schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier').default('public'),
    pool: z
      .object({
        /** connections per webiso process */
        max: z.number().int().min(1).max(200).default(10),
        /** a request waiting this long for a free connection gets "try again later" */
        connectionTimeoutSeconds: z.number().min(0.1).max(60).default(5),
        /** a statement running longer is cancelled by PostgreSQL */
        statementTimeoutSeconds: z.number().min(0.1).max(600).default(15),
      })
      .strict()
      .prefault({}),
    /** TLS to PostgreSQL; off when absent (loopback or a private network) */
    tls: z
      .object({
        /** CA bundle to verify the server with; the system CAs when absent */
        caFile: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((store) => store.url !== undefined || store.host !== undefined, { message: 'needs url or host', path: ['url'] });

export const storeSchema = z.discriminatedUnion('kind', [sqliteStoreSchema, postgresStoreSchema]).default({ kind: 'sqlite' });

export type StoreConfig = z.infer<typeof storeSchema>;
export type PostgresStoreConfig = Extract<StoreConfig, { kind: 'postgres' }>;
