import type { Flavor, FlavorContext, FlavorDecision } from './flavor.ts';

/** The SSO-or-prompt decision every password flavor starts from. */
export function decideFromSession({ request, session }: FlavorContext): FlavorDecision {
  if (request.force) return { action: 'prompt' };
  if (session) {
    return { action: 'grant', via: 'sso', subject: { kind: 'user', username: session.username, authTime: session.authTime, amr: session.amr, roles: session.roles } };
  }
  if (request.passive) return { action: 'error', error: 'login_required', description: 'No one is logged in to webiso in this browser.' };
  return { action: 'prompt' };
}

/** basic: username and password (or a live SSO session); asserts the user. */
export const basicFlavor: Flavor = {
  name: 'basic',
  decide: async (context) => decideFromSession(context),
  afterPassword: async () => ({ ok: true }),
};
