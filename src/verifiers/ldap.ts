/**
 * LDAP password verifier (ldapts): search for the user's entry, then bind as it.
 *
 * The classic holes in LDAP logins, and the guard for each:
 *  - empty password = "unauthenticated bind" (RFC 4513 §5.1.2), which AD-like servers answer
 *    with success as anonymous → refused here before any network I/O;
 *  - filter injection (`*`, `)(uid=*`) → the username is RFC 4515-escaped, and the search must
 *    find exactly one entry;
 *  - DN injection → we never build a DN from the username, we bind as the DN the search returned.
 * The asserted username is the directory's own value (usernameAttribute), not what was typed.
 */
import type { ConnectionOptions } from 'node:tls';
import { Client, InvalidCredentialsError, ResultCodeError, type Entry } from 'ldapts';
import type { PasswordVerifier, VerifyOutcome } from './verifier.ts';

export interface LdapVerifierOptions {
  /** ldap://host:port or ldaps://host:port */
  readonly url: string;
  /** where users are searched (subtree) */
  readonly baseDn: string;
  /** `{username}` is replaced by the escaped username; default '(uid={username})' */
  readonly userFilter?: string;
  /** service account for the search; without it the search is anonymous */
  readonly bindDn?: string;
  readonly bindPassword?: string;
  /** budget for the whole attempt (connect, search, bind, group lookup) */
  readonly timeoutMs: number;
  /** where groups are searched; no group lookup without it */
  readonly groupBaseDn?: string;
  /** `{dn}` is replaced by the escaped user DN; default '(member={dn})' */
  readonly groupFilter?: string;
  /** group cn or group DN (case-insensitive) → webiso roles */
  readonly groupRoleMap?: Readonly<Record<string, readonly string[]>>;
  /** attribute holding the canonical username; default 'uid' */
  readonly usernameAttribute?: string;
  /** for ldaps:// URLs (e.g. a private CA) */
  readonly tlsOptions?: ConnectionOptions;
}

const MAX_USERNAME_LENGTH = 256;

type Failure = VerifyOutcome & { ok: false };
const credentialsFailure = (detail: string): Failure => ({ ok: false, reason: 'invalid_credentials', detail });
const unavailable = (detail: string): Failure => ({ ok: false, reason: 'unavailable', detail });

export function createLdapVerifier(options: LdapVerifierOptions): PasswordVerifier {
  const settings = checkOptions(options);
  return {
    kind: 'ldap',
    verify: (username, password) => verifyLdapPassword(settings, username, password),
  };
}

interface Settings extends LdapVerifierOptions {
  readonly userFilter: string;
  readonly groupFilter: string;
  readonly usernameAttribute: string;
  readonly roleMap: ReadonlyMap<string, readonly string[]>;
}

function checkOptions(options: LdapVerifierOptions): Settings {
  const userFilter = options.userFilter ?? '(uid={username})';
  const groupFilter = options.groupFilter ?? '(member={dn})';
  if (!userFilter.includes('{username}')) throw new Error('ldap verifier: userFilter must contain {username}');
  if (!groupFilter.includes('{dn}')) throw new Error('ldap verifier: groupFilter must contain {dn}');
  // A service DN with an empty password would itself be an unauthenticated (anonymous) bind.
  if (options.bindDn !== undefined && !options.bindPassword) throw new Error('ldap verifier: bindDn needs a non-empty bindPassword');
  const roleMap = new Map(Object.entries(options.groupRoleMap ?? {}).map(([key, roles]) => [normalizeGroupKey(key), roles]));
  return { ...options, userFilter, groupFilter, usernameAttribute: options.usernameAttribute ?? 'uid', roleMap };
}

async function verifyLdapPassword(settings: Settings, username: string, password: string): Promise<VerifyOutcome> {
  // Before any I/O: an empty password must never reach a bind (see the module comment).
  if (password.trim().length === 0) return credentialsFailure('empty password');
  if (!acceptableUsername(username)) return credentialsFailure('username rejected');

  const searcher = newClient(settings);
  const binder = newClient(settings);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<Failure>((resolve) => {
    timer = setTimeout(() => resolve(unavailable('directory timed out')), settings.timeoutMs);
  });
  const closeClients = () => Promise.allSettled([searcher.unbind(), binder.unbind()]);
  const running = attempt(settings, searcher, binder, username, password);
  try {
    return await Promise.race([running, timedOut]);
  } finally {
    clearTimeout(timer);
    await closeClients();
    // After a timeout the attempt is still in flight and ldapts reconnects on the next use: close again when it settles.
    void running.then(closeClients, closeClients);
  }
}

async function attempt(settings: Settings, searcher: Client, binder: Client, username: string, password: string): Promise<VerifyOutcome> {
  try {
    if (settings.bindDn !== undefined) await searcher.bind(settings.bindDn, settings.bindPassword);
  } catch (err) {
    // Our service account failing is our problem, never the user's bad password.
    return unavailable(`service bind failed: ${describe(err)}`);
  }

  let entry: Entry | undefined;
  try {
    entry = await findUniqueEntry(settings, searcher, username);
  } catch (err) {
    return unavailable(`user search failed: ${describe(err)}`);
  }
  if (!entry) return credentialsFailure('no unique directory entry');
  const canonical = canonicalUsername(entry, settings.usernameAttribute, username);
  if (!canonical) return credentialsFailure(`entry has no usable ${settings.usernameAttribute}`);

  try {
    await binder.bind(entry.dn, password);
  } catch (err) {
    return bindFailure(err);
  }

  let groups: GroupRef[] = [];
  try {
    groups = await findGroups(settings, searcher, entry.dn);
  } catch (err) {
    return unavailable(`group lookup failed: ${describe(err)}`);
  }
  return {
    ok: true,
    user: { username: canonical, roles: rolesFor(settings.roleMap, groups), groups: groups.map((g) => g.cn), amr: ['pwd'] },
  };
}

// ---- username, filters and entries ----

function acceptableUsername(username: string): boolean {
  // \p{Cs}: a lone surrogate would be sent as U+FFFD and match something else.
  return username.length > 0 && username.length <= MAX_USERNAME_LENGTH && !/[\p{Cc}\p{Cs}]/u.test(username);
}

/** RFC 4515 value escaping for the characters that are syntax in a filter (and NUL). */
export function escapeFilterValue(value: string): string {
  return value.replace(/[\\*()\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Substitutes without String.replace, whose `$&`-style patterns would reinterpret the value. */
function fillTemplate(template: string, placeholder: string, value: string): string {
  return template.split(placeholder).join(escapeFilterValue(value));
}

async function findUniqueEntry(settings: Settings, client: Client, username: string): Promise<Entry | undefined> {
  const { searchEntries } = await client.search(settings.baseDn, {
    scope: 'sub',
    filter: fillTemplate(settings.userFilter, '{username}', username),
    // Two is enough to tell "exactly one" from "ambiguous" without fetching a whole directory.
    sizeLimit: 2,
    timeLimit: Math.max(1, Math.ceil(settings.timeoutMs / 1000)),
    derefAliases: 'never',
    attributes: [settings.usernameAttribute],
  });
  const [only, ...others] = searchEntries;
  return only && others.length === 0 && only.dn ? only : undefined;
}

/** The directory's spelling of the username; with several values, the one the user typed. */
function canonicalUsername(entry: Entry, attribute: string, typed: string): string | undefined {
  const values = attributeValues(entry, attribute);
  if (values.length === 1) return values[0];
  return values.find((v) => v.toLowerCase() === typed.toLowerCase());
}

function attributeValues(entry: Entry, attribute: string): string[] {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase() && k !== 'dn');
  const raw = key === undefined ? [] : entry[key];
  const list = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  return list.map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v))).filter((v) => v.length > 0);
}

// ---- bind results ----

/** LDAP result codes that say "the server is not able to answer now", not "wrong password". */
const SERVER_TROUBLE_CODES = new Set([3 /* timeLimit */, 11 /* adminLimit */, 51 /* busy */, 52 /* unavailable */, 80 /* other */]);

function bindFailure(err: unknown): Failure {
  if (err instanceof InvalidCredentialsError) return credentialsFailure('wrong password');
  // Any other refusal of the bind (locked, unwilling to perform...) is still not a login.
  if (err instanceof ResultCodeError && !SERVER_TROUBLE_CODES.has(err.code)) return credentialsFailure(`bind refused: ${describe(err)}`);
  return unavailable(`bind failed: ${describe(err)}`);
}

function describe(err: unknown): string {
  const message = err instanceof Error ? `${err.name}: ${err.message.trim()}` : String(err);
  return message.replace(/\p{Cc}/gu, ' ').slice(0, 300);
}

// ---- groups and roles ----

interface GroupRef {
  readonly dn: string;
  readonly cn: string;
}

async function findGroups(settings: Settings, client: Client, userDn: string): Promise<GroupRef[]> {
  if (settings.groupBaseDn === undefined) return [];
  const { searchEntries } = await client.search(settings.groupBaseDn, {
    scope: 'sub',
    filter: fillTemplate(settings.groupFilter, '{dn}', userDn),
    timeLimit: Math.max(1, Math.ceil(settings.timeoutMs / 1000)),
    derefAliases: 'never',
    attributes: ['cn'],
  });
  return searchEntries.map((entry) => ({ dn: entry.dn, cn: attributeValues(entry, 'cn')[0] ?? entry.dn }));
}

function rolesFor(roleMap: ReadonlyMap<string, readonly string[]>, groups: readonly GroupRef[]): string[] {
  const roles = new Set<string>();
  for (const group of groups) {
    for (const key of [group.cn, group.dn]) roleMap.get(normalizeGroupKey(key))?.forEach((role) => roles.add(role));
  }
  return [...roles];
}

/** Lower-cases and drops blanks around `,` and `=`, so "CN=Admins, OU=Groups" finds "cn=admins,ou=groups". */
function normalizeGroupKey(key: string): string {
  return key.trim().toLowerCase().replace(/\s*([,=])\s*/g, '$1');
}

function newClient(settings: Settings): Client {
  return new Client({
    url: settings.url,
    timeout: settings.timeoutMs,
    connectTimeout: settings.timeoutMs,
    ...(settings.tlsOptions ? { tlsOptions: settings.tlsOptions } : {}),
  });
}
