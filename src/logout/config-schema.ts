import { z } from 'zod';
import { parseReturnUrl } from '../login/return-url.ts';

/**
 * Single-logout options: `apps[].logout` (where an app is told a session ended) and the top-level
 * `logout` section (delivery timing). Mounted by src/config/schema.ts; described in docs/logout.md.
 */

const endpointUrl = z.string().refine((value) => parseReturnUrl(value) !== undefined, {
  message: 'must be an absolute http(s) URL without credentials, fragment or encoded dots and slashes',
});

export const appLogoutSchema = z
  .object({
    /** webiso POSTs a logout token here when a session the app received something from ends */
    backchannelUrl: endpointUrl.optional(),
    /** loaded in a hidden iframe of webiso's logout page, with `iss` and `sid` */
    frontchannelUrl: endpointUrl.optional(),
  })
  .strict();

export const logoutSchema = z
  .object({
    /** one delivery attempt may take this long before it counts as failed */
    deliveryTimeoutSeconds: z.number().min(0.5).max(30).default(5),
    /** a delivery that keeps failing is retried with backoff for this long, then given up (and shown in the admin pages) */
    retryForSeconds: z.number().int().min(60).max(7 * 86_400).default(3600),
    /** how often expired sessions are swept (ended with single logout) and due deliveries retried */
    sweepSeconds: z.number().int().min(1).max(300).default(15),
  })
  .strict()
  .prefault({});

export type AppLogoutConfig = z.infer<typeof appLogoutSchema>;
export type LogoutConfig = z.infer<typeof logoutSchema>;
