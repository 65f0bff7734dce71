import { z } from 'zod';
import { isFqdnPattern } from './fqdn.ts';

/**
 * The `machines` section of the config (kiosk machine cookies). Kept beside the machine code;
 * src/config/schema.ts mounts it. Every option is described in docs/machines.md.
 */
const names = z.array(z.string().min(1).max(256).transform((name) => name.toLowerCase())).max(1000);

const mintRuleSchema = z
  .object({
    users: names.optional(),
    groups: names.optional(),
    roles: z.array(z.string().min(1).max(64)).max(100).optional(),
    fqdns: z
      .array(
        z
          .string()
          .transform((pattern) => pattern.toLowerCase())
          .refine(isFqdnPattern, { message: 'must be a DNS name or "*.domain"' }),
      )
      .min(1),
  })
  .strict()
  .refine((rule) => (rule.users?.length ?? 0) + (rule.groups?.length ?? 0) + (rule.roles?.length ?? 0) > 0, {
    message: 'a rule names at least one of users, groups or roles',
  });

export type MintRule = z.infer<typeof mintRuleSchema>;

const anomalySchema = z
  .object({
    /** two IPv4 addresses in the same /ipv4Prefix are one network for the teleport and clone rules */
    ipv4Prefix: z.number().int().min(8).max(32).default(24),
    ipv6Prefix: z.number().int().min(16).max(128).default(64),
    /** a change of network within this many seconds of the previous sighting is a "teleport" */
    teleportWindowSeconds: z.number().int().min(10).max(86_400).default(600),
    /** one cookie (jti) going back and forth between networks within this window is a clone */
    cloneWindowSeconds: z.number().int().min(10).max(7 * 86_400).default(3600),
    /** an alert also suspends the machine (its current request is refused too) */
    autoSuspend: z.boolean().default(false),
  })
  .strict()
  .prefault({});

export const machinesConfigSchema = z
  .object({
    /** the longest lifetime an admin may give a machine cookie */
    maxLifetimeDays: z.number().int().min(1).max(400).default(120),
    /** machine cookies issued before this instant are refused (the CLI can move the cutoff later, never earlier) */
    invalidBefore: z.iso.datetime({ offset: true }).optional(),
    mintPolicy: z.array(mintRuleSchema).default([]),
    /** minting needs a password entered at most this long ago */
    reauthSeconds: z.number().int().min(30).max(3600).default(300),
    /** how long a `webiso machine enroll` URL stays usable */
    enrollmentTtlSeconds: z.number().int().min(60).max(86_400).default(900),
    anomaly: anomalySchema,
  })
  .strict()
  .prefault({});

export type MachinesConfig = z.infer<typeof machinesConfigSchema>;
