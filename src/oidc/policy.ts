import type { interactionPolicy, KoaContextWithOIDC } from 'oidc-provider';
import type { OidcLibrary } from './library.ts';

/**
 * oidc-provider's interaction policy, reduced to one rule: webiso's login engine decides every
 * authorization request. oidc-provider's own session never answers a login by itself, so the SSO
 * session, the kiosk machine cookie, the flavors, `prompt=login` (force) and `prompt=none`
 * (passive) are decided exactly as for the native protocol and CAS.
 *
 * - On a new request the provider session forgets whatever account it last carried, and the
 *   browser is sent to the interaction (webiso's login engine).
 * - `prompt=none` would make oidc-provider answer `login_required` before webiso could look at
 *   its SSO session; it is taken off the prompt and handed to the interaction as `passive`, whose
 *   refusal comes back as `login_required` all the same (oidc-provider itself rewrites `prompt`
 *   the same way for `max_age=0`).
 * - On the way back (resume) the result carries webiso's session id, which becomes the ID
 *   token's `sid` for this client: the `sid` webiso's logout tokens name.
 */

export interface WebisoInteractionResult {
  readonly login?: { readonly accountId: string };
  readonly webiso?: { readonly sid: string };
}

interface MutableParams {
  prompt?: string | undefined;
}

const PASSIVE_STATE = 'webisoPassive';

/** The provider session remembers no login between authorizations (the Proxy allows deleting). */
function forgetProviderLogin(ctx: KoaContextWithOIDC): void {
  const session = ctx.oidc.session;
  if (!session) return;
  for (const key of ['accountId', 'loginTs', 'amr', 'acr'] as const) Reflect.deleteProperty(session, key);
  // the session Proxy marks a touched session for saving, so its uid outlives this request
  (session as unknown as { touched: boolean }).touched = true;
}

function takePassive(ctx: KoaContextWithOIDC): void {
  const prompts = new Set(ctx.oidc.prompts);
  if (!prompts.delete('none')) return;
  const params = ctx.oidc.params as MutableParams;
  params.prompt = prompts.size > 0 ? [...prompts].join(' ') : undefined;
  ctx.state[PASSIVE_STATE] = true;
}

function bindSessionId(ctx: KoaContextWithOIDC, result: WebisoInteractionResult): void {
  const clientId = ctx.oidc.client?.clientId;
  if (clientId && result.webiso?.sid && ctx.oidc.session) ctx.oidc.session.sidFor(clientId, result.webiso.sid);
}

function webisoDecides(policyApi: OidcLibrary['interactionPolicy']) {
  return (ctx: KoaContextWithOIDC): boolean => {
    const result = ctx.oidc.result as WebisoInteractionResult | undefined;
    if (result?.login) {
      bindSessionId(ctx, result);
      return policyApi.Check.NO_NEED_TO_PROMPT;
    }
    forgetProviderLogin(ctx);
    takePassive(ctx);
    return policyApi.Check.REQUEST_PROMPT;
  };
}

export function webisoPolicy({ interactionPolicy: policyApi }: OidcLibrary): interactionPolicy.DefaultPolicy {
  const policy = policyApi.base();
  policy.clear();
  policy.add(
    new policyApi.Prompt(
      { name: 'login', requestable: true },
      (ctx) => ({ passive: ctx.state[PASSIVE_STATE] === true }),
      new policyApi.Check('webiso_login', 'webiso decides every login', 'login_required', webisoDecides(policyApi)),
    ),
  );
  return policy;
}
