import type { Subject } from '../login/login-request.ts';
import { decideFromSession } from './basic.ts';
import type { Flavor, FlavorContext, FlavorDecision } from './flavor.ts';

export const MACHINE_AMR = 'machine-cookie';

/**
 * The browser's machine identity, if it presents a machine cookie that is valid right now. Every
 * presentation (valid or not) is recorded as a sighting; an invalid cookie counts as no cookie.
 */
async function machineSubject({ http, services, request }: FlavorContext): Promise<Subject | undefined> {
  if (http.machineCookie === null) return undefined;
  const result = await services.machines.present(http.machineCookie, { clientIp: http.ip, userAgent: http.headers['user-agent'], appId: request.app.id }, http.log);
  if (!result.accepted) return undefined;
  return { kind: 'machine', fqdn: result.machine.fqdn, entitlements: result.machine.entitlements, location: result.machine.location, authTime: result.claims.iat, amr: [MACHINE_AMR] };
}

/**
 * machineoruser: a kiosk's valid machine cookie answers at once with a machine grant (`sub` "",
 * `kind` "machine"); otherwise exactly basic. `force=1` ignores the machine cookie (the app needs a
 * person); `passive=1` gives the machine, else a live user session, else login_required.
 */
export const machineOrUserFlavor: Flavor = {
  name: 'machineoruser',
  async decide(context): Promise<FlavorDecision> {
    if (!context.request.force) {
      const subject = await machineSubject(context);
      if (subject) return { action: 'grant', via: 'machine', subject };
    }
    return decideFromSession(context);
  },
  afterPassword: async () => ({ ok: true }),
};
