import type { AppConfig } from '../config/schema.ts';
import { InvalidRequestError } from '../errors.ts';
import { kerberosOptions } from '../services.ts';
import { obtainServiceTicketCcache } from '../verifiers/kerberos.ts';
import { credsHash, encryptCredentials } from './creds-jwe.ts';
import type { AfterPasswordResult, Flavor, FlavorContext, FlavorDecision } from './flavor.ts';
import { decideTarget, SERVICE_PRINCIPAL } from './getcred-policy.ts';

type GetcredSettings = NonNullable<AppConfig['getcred']>;

function settingsOf(app: AppConfig): GetcredSettings {
  return app.getcred ?? { targets: [], confirm: false };
}

function requireTarget({ request }: FlavorContext): string {
  const target = request.target;
  if (target === undefined) throw new InvalidRequestError('The getcred flavor needs a "target": the Kerberos service to get a ticket for.');
  if (!SERVICE_PRINCIPAL.test(target)) throw new InvalidRequestError('The target must be a Kerberos service principal such as imap/mail.example.edu@EXAMPLE.EDU.');
  return target;
}

/** Policy before any password is typed: refusals go back to the app, audited with the reason. */
function checkPolicy(context: FlavorContext): FlavorDecision | undefined {
  const target = requireTarget(context);
  const settings = settingsOf(context.request.app);
  const decision = decideTarget(settings.targets, target);
  if (!decision.allowed) {
    return { action: 'error', error: 'access_denied', description: 'This application may not receive tickets for that service.', auditDetail: `target not allowed: ${target}${decision.rule ? ` (rule ${decision.rule.pattern})` : ' (no rule)'}` };
  }
  if (!settings.publicKey) {
    return { action: 'error', error: 'access_denied', description: 'This application has no registered key to receive tickets with.', auditDetail: 'no registered key for getcred' };
  }
  return undefined;
}

/**
 * getcred: like basic, and the app also receives a Kerberos service ticket in the user's name for
 * one allowed target, encrypted to the app's key. A ticket needs the password, so an SSO session
 * alone never suffices: the person is always prompted (and `passive` cannot be honoured).
 */
export const getcredFlavor: Flavor = {
  name: 'getcred',
  async decide(context) {
    const refusal = checkPolicy(context);
    if (refusal) return refusal;
    if (context.request.passive) return { action: 'error', error: 'login_required', description: 'A service ticket needs the password to be typed.' };
    return { action: 'prompt' };
  },
  loginFormNotice(context) {
    return { target: requireTarget(context), confirm: settingsOf(context.request.app).confirm };
  },
  checkSubmission(context, body) {
    const refusal = checkPolicy(context);
    if (refusal?.action === 'error') return { ok: false, error: refusal.error, description: refusal.description, auditDetail: refusal.auditDetail ?? refusal.error };
    if (settingsOf(context.request.app).confirm && body.consent !== 'allow') {
      return { ok: false, error: 'access_denied', description: 'The user did not allow the ticket to be handed over.', auditDetail: 'user declined the ticket' };
    }
    return { ok: true };
  },
  async afterPassword(context, user, password): Promise<AfterPasswordResult> {
    const target = requireTarget(context);
    const { verifier } = context.services.config;
    const publicKey = settingsOf(context.request.app).publicKey;
    if (verifier.kind !== 'kerberos' || !publicKey) {
      return { ok: false, error: 'access_denied', description: 'Tickets are not available for this application.', auditDetail: 'getcred without kerberos verifier or key' };
    }
    const ticket = await obtainServiceTicketCcache({ ...kerberosOptions(verifier), username: user.username, password, target });
    if (!ticket.ok) {
      const error = ticket.reason === 'unavailable' ? 'temporarily_unavailable' : 'access_denied';
      return { ok: false, error, description: error === 'access_denied' ? 'The Kerberos service refused a ticket for that service.' : 'The Kerberos service cannot be reached; try again later.', auditDetail: `kdc: ${ticket.reason}: ${ticket.detail}` };
    }
    const creds = await encryptCredentials(ticket.ccache, publicKey, target);
    ticket.ccache.fill(0);
    return { ok: true, extraClaims: { target, creds_hash: credsHash(creds) }, extraFields: { creds } };
  },
};
