import type { WebisoConfig } from '../config/schema.ts';

/** Where the OpenID Provider is mounted in webiso's URL space, and so the end of its issuer. */
export const OIDC_MOUNT = '/oidc';

/**
 * The OP's issuer is `${issuer}/oidc`, not webiso's own issuer: discovery then lives under the
 * mount (`/oidc/.well-known/openid-configuration`) and nothing of OIDC's URL space collides with
 * webiso's routes (`/.well-known/jwks.json` stays the grant keys).
 */
export function opIssuer(config: Pick<WebisoConfig, 'issuer'>): string {
  return `${config.issuer.replace(/\/+$/, '')}${OIDC_MOUNT}`;
}
