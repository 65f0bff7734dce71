import type { FastifyRequest } from 'fastify';
import type { FlavorName } from '../config/schema.ts';
import type { SsoSession } from '../db/sessions.ts';
import type { LoginRequest, Subject } from '../login/login-request.ts';
import type { WebisoServices } from '../services.ts';
import type { VerifiedUser } from '../verifiers/verifier.ts';

/** Protocol errors sent back to the app (never shown as a bare redirect to an unchecked URL). */
export type AppErrorCode = 'login_required' | 'access_denied' | 'temporarily_unavailable';

export interface FlavorContext {
  /** protocol-neutral: flavors never see a protocol's own parameters */
  readonly request: LoginRequest;
  /** the browser's live SSO session, if any */
  readonly session: SsoSession | undefined;
  readonly http: FastifyRequest;
  readonly services: WebisoServices;
  readonly nowSeconds: number;
}

export type FlavorDecision =
  | { readonly action: 'grant'; readonly subject: Subject; readonly via: 'sso' | 'machine' }
  | { readonly action: 'prompt' }
  | { readonly action: 'error'; readonly error: AppErrorCode; readonly description: string; readonly auditDetail?: string };

/** What a flavor adds to a grant after a password was verified (getcred: the ticket). */
export type AfterPasswordResult =
  | { readonly ok: true; readonly extraClaims?: Readonly<Record<string, unknown>>; readonly extraFields?: Readonly<Record<string, string>> }
  | { readonly ok: false; readonly error: AppErrorCode; readonly description: string; readonly auditDetail: string };

export interface LoginFormNotice {
  readonly target: string;
  readonly confirm: boolean;
}

export interface Flavor {
  readonly name: FlavorName;
  /** Before any password: answer from the SSO session (or a machine cookie), prompt, or refuse. */
  decide(context: FlavorContext): Promise<FlavorDecision>;
  /** After the password verified; flavors that only assert the user return { ok: true }. */
  afterPassword(context: FlavorContext, user: VerifiedUser, password: string): Promise<AfterPasswordResult>;
  /** What the login form must tell the person (getcred: the service a ticket is for, and whether to ask consent). */
  loginFormNotice?(context: FlavorContext): LoginFormNotice;
  /** Checks a submitted login form before the password is verified (getcred: policy still allows, consent given). */
  checkSubmission?(context: FlavorContext, body: Readonly<Record<string, unknown>>): AfterPasswordResult;
}
