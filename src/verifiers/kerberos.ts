/**
 * Kerberos 5 password verifier, driving the MIT command-line tools (no native bindings).
 *
 * A TGT alone proves nothing: whoever answers on the KDC's address can hand out one for any
 * password (KDC spoofing). So after kinit, kvno fetches a service ticket for webiso's own
 * principal and decrypts it with our keytab (`kvno -k`); only the real KDC knows that key.
 *
 * The password only ever travels on the child's stdin. Each attempt gets a private temp dir
 * (0700) holding a FILE: credential cache that is wiped and removed afterwards.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PasswordVerifier, VerifyOutcome } from './verifier.ts';

export interface KerberosVerifierOptions {
  /** realms users may log in to; the first is the default realm */
  readonly realms: readonly string[];
  /** webiso's own service principal, e.g. HTTP/login.example.edu (a key for it must be in `keytab`) */
  readonly servicePrincipal: string;
  readonly keytab: string;
  /** path to a krb5.conf, passed to the tools as KRB5_CONFIG */
  readonly krb5Config?: string;
  /** accept a bare `user` and append the default realm (default true); when false, require user@REALM */
  readonly appendRealm?: boolean;
  /** whole-attempt budget; the tools are killed when it runs out */
  readonly timeoutMs: number;
  /** webiso's own roles of a realm user (user_roles in the store) */
  readonly roles?: (username: string) => Promise<readonly string[]> | readonly string[];
  /** where per-attempt private dirs are made (default: os.tmpdir()) */
  readonly workDir?: string;
  readonly kinitPath?: string;
  readonly kvnoPath?: string;
}

export type ServiceTicketOutcome =
  | { readonly ok: true; readonly ccache: Buffer }
  | {
      readonly ok: false;
      readonly reason: 'invalid_credentials' | 'invalid_username' | 'invalid_target' | 'unavailable' | 'kdc_refused';
      readonly detail: string;
    };

export interface ServiceTicketRequest extends KerberosVerifierOptions {
  readonly username: string;
  readonly password: string;
  /** the service principal the app wants a ticket for, e.g. imap/mail.example.edu */
  readonly target: string;
}

const MAX_USERNAME_LENGTH = 256;
/** MIT's password prompt silently truncates long lines (~1 KiB); refuse well before that */
const MAX_PASSWORD_BYTES = 1000;
const NOT_VERIFIED = 'ticket did not verify against keytab';

export function createKerberosVerifier(options: KerberosVerifierOptions): PasswordVerifier {
  if (options.realms.length === 0) throw new Error('kerberos verifier: at least one realm is required');
  return {
    kind: 'kerberos',
    verify: (username, password) => verifyKerberosPassword(options, username, password),
  };
}

async function verifyKerberosPassword(options: KerberosVerifierOptions, username: string, password: string): Promise<VerifyOutcome> {
  const principal = parsePrincipal(username, options);
  if (!principal) return { ok: false, reason: 'invalid_username' };
  const passwordProblem = checkPassword(password);
  if (passwordProblem) return { ok: false, reason: 'invalid_credentials', detail: passwordProblem };

  const deadline = Date.now() + options.timeoutMs;
  const outcome = await withPrivateCcache(options, async (ccache): Promise<VerifyOutcome> => {
    const env = toolEnv(options, ccache);
    const kinit = await runTool(options.kinitPath ?? 'kinit', ['-c', ccache, '--', principal.full], env, deadline, password);
    const kinitFailure = kinitOutcome(kinit);
    if (kinitFailure) return kinitFailure;

    const kvno = await runTool(options.kvnoPath ?? 'kvno', ['-c', ccache, '-k', options.keytab, '--', options.servicePrincipal], env, deadline);
    const kvnoFailure = kvnoOutcome(kvno);
    if (kvnoFailure) return kvnoFailure;

    const name = principal.realm === options.realms[0] ? principal.user : principal.full;
    return { ok: true, user: { username: name, roles: [], amr: ['pwd', 'krb5'] } };
  });
  // the roles are looked up after the tools' private directory is gone
  if (!outcome.ok || !options.roles) return outcome;
  return { ok: true, user: { ...outcome.user, roles: [...(await options.roles(outcome.user.username))] } };
}

/**
 * For the getcred flavor: a ccache holding only a ticket for `target` in the user's name, got
 * straight from the AS exchange (`kinit -S target`), so the TGT never exists anywhere.
 * The caller must have verified the password with verify() first: the ticket from this call
 * is not checked against our keytab (it is encrypted for `target`, not for us).
 */
export async function obtainServiceTicketCcache(request: ServiceTicketRequest): Promise<ServiceTicketOutcome> {
  const principal = parsePrincipal(request.username, request);
  if (!principal) return { ok: false, reason: 'invalid_username', detail: 'username not acceptable for this realm' };
  const targetProblem = checkTarget(request.target, principal.realm);
  if (targetProblem) return { ok: false, reason: 'invalid_target', detail: targetProblem };
  const passwordProblem = checkPassword(request.password);
  if (passwordProblem) return { ok: false, reason: 'invalid_credentials', detail: passwordProblem };

  const deadline = Date.now() + request.timeoutMs;
  return withPrivateCcache(request, async (ccache, path): Promise<ServiceTicketOutcome> => {
    const args = ['-S', request.target, '-c', ccache, '--', principal.full];
    const kinit = await runTool(request.kinitPath ?? 'kinit', args, toolEnv(request, ccache), deadline, request.password);
    const failure = kinitOutcome(kinit);
    if (failure) {
      // The user's credentials were fine but the KDC will not issue this ticket (unknown target, policy).
      if (/Server not found in Kerberos database|KDC policy rejects|not allowed/i.test(kinit.stderr)) {
        return { ok: false, reason: 'kdc_refused', detail: firstLine(kinit.stderr) };
      }
      return { ok: false, reason: failure.reason === 'unavailable' ? 'unavailable' : 'invalid_credentials', detail: failure.detail ?? '' };
    }
    return { ok: true, ccache: await readFile(path) };
  });
}

// ---- input checks ----

interface Principal {
  readonly user: string;
  readonly realm: string;
  /** user@REALM, as passed to kinit */
  readonly full: string;
}

/**
 * Accepts `user` (when appendRealm) or `user@REALM` with REALM configured. Refuses instances
 * (`user/admin`), krb5 escapes (`\`), whitespace and control or format characters, so the
 * string reaching kinit names exactly one plain user principal.
 */
export function parsePrincipal(
  username: string,
  options: Pick<KerberosVerifierOptions, 'realms' | 'appendRealm'>,
): Principal | undefined {
  if (username.length === 0 || username.length > MAX_USERNAME_LENGTH) return undefined;
  if (/[\p{Cc}\p{Cf}\p{Z}\s/\\]/u.test(username)) return undefined;
  const [user, realm, ...rest] = username.split('@');
  if (!user || rest.length > 0) return undefined;
  if (realm === undefined) {
    const defaultRealm = options.realms[0];
    if (options.appendRealm === false || defaultRealm === undefined) return undefined;
    return { user, realm: defaultRealm, full: `${user}@${defaultRealm}` };
  }
  // Realms are case-sensitive in Kerberos; a foreign or mis-cased realm is not guessed at.
  if (!options.realms.includes(realm)) return undefined;
  return { user, realm, full: `${user}@${realm}` };
}

/** Returns why the password cannot be sent to kinit, if it cannot. */
function checkPassword(password: string): string | undefined {
  if (password.length === 0) return 'empty password';
  // kinit reads one line: anything after a line break would be silently ignored.
  if (/[\r\n\0]/.test(password)) return 'password contains a line break or NUL';
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) return 'password too long';
  return undefined;
}

/** A service principal an app may ask for: never a TGT, never the password-change service. */
function checkTarget(target: string, userRealm: string): string | undefined {
  if (target.length === 0 || target.length > MAX_USERNAME_LENGTH) return 'target length';
  if (/[\p{Cc}\p{Cf}\p{Z}\s\\]/u.test(target) || target.startsWith('-')) return 'target contains forbidden characters';
  const [name = '', realm, ...rest] = target.split('@');
  if (rest.length > 0 || (realm !== undefined && realm !== userRealm)) return 'target must be in the user\'s realm';
  const [service = '', ...instance] = name.split('/');
  if (!service || instance.length === 0 || instance.some((part) => !part)) return 'target must be service/host';
  if (/^(krbtgt|kadmin)$/i.test(service)) return `target ${service} is never handed out`;
  return undefined;
}

// ---- mapping the tools' results ----

/** kinit's English messages (LC_ALL=C) that mean "these credentials do not log in". */
const CREDENTIAL_ERRORS =
  /Password incorrect|Preauthentication failed|not found in Kerberos database|credentials have been revoked|entry in database has expired|Password has expired|Decrypt integrity check failed|Cannot read password/;
/** ...and those that mean "the realm cannot answer right now": fail closed, try again later. */
const UNAVAILABLE_ERRORS = /Cannot contact any KDC|Cannot find KDC|Clock skew too great|Cannot resolve network address|Resource temporarily unavailable/;

function kinitOutcome(result: ToolResult): (VerifyOutcome & { ok: false }) | undefined {
  if (result.timedOut) return { ok: false, reason: 'unavailable', detail: 'kinit timed out' };
  if (result.spawnError) return { ok: false, reason: 'unavailable', detail: `kinit: ${result.spawnError}` };
  if (result.code === 0) return undefined;
  if (UNAVAILABLE_ERRORS.test(result.stderr)) return { ok: false, reason: 'unavailable', detail: firstLine(result.stderr) };
  if (CREDENTIAL_ERRORS.test(result.stderr)) return { ok: false, reason: 'invalid_credentials', detail: firstLine(result.stderr) };
  // Unknown failure: not proof of a bad password, and certainly not a login.
  return { ok: false, reason: 'unavailable', detail: firstLine(result.stderr) || `kinit exited ${result.code}` };
}

function kvnoOutcome(result: ToolResult): (VerifyOutcome & { ok: false }) | undefined {
  if (result.timedOut) return { ok: false, reason: 'unavailable', detail: 'kvno timed out' };
  if (result.spawnError) return { ok: false, reason: 'unavailable', detail: `kvno: ${result.spawnError}` };
  // Require kvno's own confirmation too, so a kvno that ignored -k could not pass.
  if (result.code === 0 && /: kvno = \d+, keytab entry valid$/m.test(result.stdout)) return undefined;
  if (UNAVAILABLE_ERRORS.test(result.stderr)) return { ok: false, reason: 'unavailable', detail: firstLine(result.stderr) };
  if (/Key table file .* not found|Permission denied/.test(result.stderr)) {
    return { ok: false, reason: 'unavailable', detail: `keytab unreadable: ${firstLine(result.stderr)}` };
  }
  if (/Server .* not found in Kerberos database/.test(result.stderr)) {
    return { ok: false, reason: 'invalid_credentials', detail: 'service principal unknown to the KDC' };
  }
  return { ok: false, reason: 'invalid_credentials', detail: NOT_VERIFIED };
}

function firstLine(text: string): string {
  return (text.split('\n').find((line) => line.trim()) ?? '').replace(/\p{Cc}/gu, '').slice(0, 300);
}

// ---- private ccache and child processes ----

/**
 * Runs `use` with a fresh FILE: ccache in a 0700 dir; wipes and removes both afterwards.
 * A local failure (no temp dir, unreadable ccache) is an outage, never a thrown error.
 */
async function withPrivateCcache<T>(
  options: Pick<KerberosVerifierOptions, 'workDir'>,
  use: (ccacheName: string, ccachePath: string) => Promise<T>,
): Promise<T | { ok: false; reason: 'unavailable'; detail: string }> {
  let dir: string | undefined;
  try {
    dir = await mkdtemp(join(options.workDir ?? tmpdir(), 'webiso-krb5-')); // mkdtemp makes it 0700
    const path = join(dir, 'ccache');
    try {
      return await use(`FILE:${path}`, path);
    } finally {
      await wipe(path);
    }
  } catch (err) {
    return { ok: false, reason: 'unavailable', detail: `credential cache: ${err instanceof Error ? err.message : String(err)}` };
  } finally {
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}

/** Overwrites the ccache (session keys) before unlinking; best effort. */
async function wipe(path: string): Promise<void> {
  try {
    const { size } = await stat(path);
    const handle = await open(path, 'r+');
    try {
      await handle.write(Buffer.alloc(size), 0, size, 0);
    } finally {
      await handle.close();
    }
  } catch {
    // no ccache was written
  }
}

function toolEnv(options: Pick<KerberosVerifierOptions, 'krb5Config'>, ccache: string): NodeJS.ProcessEnv {
  // A clean environment: no inherited KRB5CCNAME/KRB5_KTNAME/KRB5_TRACE, English messages.
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LC_ALL: 'C',
    KRB5CCNAME: ccache,
    ...(options.krb5Config ? { KRB5_CONFIG: options.krb5Config } : {}),
  };
}

interface ToolResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly spawnError?: string;
}

const MAX_OUTPUT = 16 * 1024;

/** Runs a tool with `input` on stdin, killed at `deadline`. Never rejects. */
function runTool(file: string, args: readonly string[], env: NodeJS.ProcessEnv, deadline: number, input?: string): Promise<ToolResult> {
  return new Promise((resolve) => {
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      resolve({ code: null, stdout: '', stderr: '', timedOut: true });
      return;
    }
    const child = spawn(file, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, remaining);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout = (stdout + d).slice(0, MAX_OUTPUT)));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(0, MAX_OUTPUT)));
    child.stdin.on('error', () => {}); // EPIPE when the tool exits before reading
    child.stdin.end(input === undefined ? '' : `${input}\n`);
    const finish = (code: number | null, spawnError?: string) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut, ...(spawnError ? { spawnError } : {}) });
    };
    child.on('error', (err) => finish(null, err.message)); // e.g. ENOENT: the binary is missing
    child.on('close', (code) => finish(code));
  });
}
