import { z } from 'zod';

/**
 * `retention`: how long machine sightings and audit rows are kept. Off by default (an identity
 * team decides what its records policy is); the per-address summaries (machine_ip_summary) and the
 * machine history (machine_events) are never pruned. Described in docs/operations.md.
 */
export const retentionSchema = z
  .object({
    sightingsDays: z.number().int().min(1).max(36_500).optional(),
    auditDays: z.number().int().min(1).max(36_500).optional(),
    /** rows deleted per statement: small, so a prune never holds the write lock for long */
    batchRows: z.number().int().min(100).max(100_000).default(5000),
  })
  .strict()
  .prefault({});

export type RetentionConfig = z.infer<typeof retentionSchema>;
