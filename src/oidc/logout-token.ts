import { machineUser } from '../cas/released-identity.ts';
import type { WebisoConfig } from '../config/schema.ts';
import type { Keystore } from '../keys/keystore.ts';
import type { Delivery } from '../logout/deliveries-repository.ts';
import { BACKCHANNEL_LOGOUT_EVENT, LOGOUT_TOKEN_LIFETIME_SECONDS, LOGOUT_TYP } from '../logout/logout-token.ts';
import { opIssuer } from './issuer.ts';
import { oidcKeyPurpose } from './keys.ts';
import { randomToken } from '../crypto/random-token.ts';

/**
 * An OpenID Connect Back-Channel Logout 1.0 token for an OIDC client, sent by webiso's outbox:
 * `iss` is the OP issuer, `aud` the client id, `sid` the `sid` of the ID tokens the client got
 * (webiso's session id), signed with the key of the client's ID token algorithm (mod_auth_openidc
 * verifies it as it verifies ID tokens). `sub` is the public sub; a pairwise client gets only `sid`.
 */
export function signOidcLogoutToken(keystore: Keystore, config: WebisoConfig, delivery: Delivery, nowSeconds: number): string {
  const client = config.apps.find((app) => app.id === delivery.appId)?.oidc;
  if (!client) throw new Error(`app ${delivery.appId} has no oidc client`);
  const sub = delivery.kind === 'machine' ? machineUser(config.cas.machineUserPattern, delivery.subject.replace(/^machine:/, '')) : delivery.subject;
  return keystore.activeSigner(oidcKeyPurpose(client.idTokenSignedResponseAlg)).sign(
    { typ: LOGOUT_TYP },
    {
      iss: opIssuer(config),
      aud: client.clientId,
      iat: nowSeconds,
      exp: nowSeconds + LOGOUT_TOKEN_LIFETIME_SECONDS,
      jti: randomToken(18),
      sid: delivery.sid,
      ...(client.subjectType === 'public' || delivery.kind === 'machine' ? { sub } : {}),
      events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
    },
  );
}
