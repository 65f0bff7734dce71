/**
 * The JOSE negative corpus: for one token kind (its typ, claims and the signing key that really
 * mints it), every forgery and confusion the issue lists. Each entry is a compact token string
 * that a correct verifier refuses; `control` is the same construction with nothing wrong, which it
 * must accept (so a broken builder cannot make the corpus pass vacuously).
 */
import { createHmac, createPublicKey, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';

export interface KindSpec {
  readonly typ: string;
  /** fresh valid claims (a new jti each call) */
  readonly claims: () => Record<string, unknown>;
  /** the key that mints this kind, its kid, and another key published beside it */
  readonly key: KeyObject;
  readonly kid: string;
  readonly otherPublishedKid: string;
  /** tokens of other kinds, minted by the real server or issuer */
  readonly otherKinds: ReadonlyArray<readonly [string, string]>;
  readonly nowSeconds: number;
  /**
   * typ compared exactly (logout tokens, machine cookies). The grant verifier follows RFC 7515
   * §4.1.9 (a media type: case-insensitive, `application/` optional), so for grants those spellings
   * name the same type and are not negatives.
   */
  readonly exactTyp: boolean;
}

const b64 = (value: string | Buffer) => Buffer.from(value).toString('base64url');
const json = (value: unknown) => b64(JSON.stringify(value));

/** Signs header.payload (payload given as raw JSON text when it must hold duplicate keys). */
export function compact(header: Record<string, unknown> | string, payload: Record<string, unknown> | string, key: KeyObject | { hs256: Buffer | string } | null): string {
  const input = `${typeof header === 'string' ? b64(header) : json(header)}.${typeof payload === 'string' ? b64(payload) : json(payload)}`;
  if (key === null) return `${input}.`;
  if ('hs256' in key) return `${input}.${createHmac('sha256', key.hs256).update(input).digest('base64url')}`;
  return `${input}.${sign(key.asymmetricKeyType === 'ed25519' ? null : 'sha256', Buffer.from(input), key.asymmetricKeyType === 'ec' ? { key, dsaEncoding: 'ieee-p1363' } : key).toString('base64url')}`;
}

const attacker = generateKeyPairSync('ed25519').privateKey;
const attackerJwk = createPublicKey(attacker).export({ format: 'jwk' });

function jwe(header: Record<string, unknown>): string {
  return [json(header), b64(randomBytes(16)), b64(randomBytes(12)), b64(randomBytes(32)), b64(randomBytes(16))].join('.');
}

export function negativeCorpus(spec: KindSpec): { control: string; negatives: Array<readonly [string, string]> } {
  const alg = spec.key.asymmetricKeyType === 'ed25519' ? 'EdDSA' : 'ES256';
  const header = { alg, kid: spec.kid, typ: spec.typ };
  const publicKey = createPublicKey(spec.key);
  const publicJwk = JSON.stringify(publicKey.export({ format: 'jwk' }));
  const publicPem = publicKey.export({ format: 'pem', type: 'spki' });
  const publicDer = publicKey.export({ format: 'der', type: 'spki' });
  const claims = spec.claims;
  const real = (h: Record<string, unknown>, c: Record<string, unknown> = claims()) => compact(h, c, spec.key);
  const { nowSeconds: now } = spec;
  const validJson = JSON.stringify(claims()).slice(1, -1);
  const negatives: Array<readonly [string, string]> = [
    ['alg none', compact({ ...header, alg: 'none' }, claims(), null)],
    ['alg None', compact({ ...header, alg: 'None' }, claims(), null)],
    ['alg none with the real signature', `${compact({ ...header, alg: 'none' }, claims(), null)}${real(header).split('.')[2]}`],
    ['HS256 keyed with the public JWK', compact({ ...header, alg: 'HS256' }, claims(), { hs256: publicJwk })],
    ['HS256 keyed with the public PEM', compact({ ...header, alg: 'HS256' }, claims(), { hs256: String(publicPem) })],
    ['HS256 keyed with the public DER', compact({ ...header, alg: 'HS256' }, claims(), { hs256: publicDer })],
    ['unknown kid', real({ ...header, kid: 'no-such-key' })],
    ['missing kid (two keys published)', real({ alg, typ: spec.typ })],
    ['empty kid', real({ ...header, kid: '' })],
    ["the other published key's kid", real({ ...header, kid: spec.otherPublishedKid })],
    ['embedded jwk (attacker key)', compact({ ...header, jwk: attackerJwk }, claims(), attacker)],
    ['embedded jwk, attacker kid', compact({ alg: 'EdDSA', typ: spec.typ, kid: 'attacker', jwk: attackerJwk }, claims(), attacker)],
    ['jku to an attacker key set', compact({ ...header, jku: 'https://evil.test/jwks.json' }, claims(), attacker)],
    ['x5u to an attacker certificate', compact({ ...header, x5u: 'https://evil.test/cert.pem' }, claims(), attacker)],
    ['x5c with an attacker certificate', compact({ ...header, x5c: [b64(randomBytes(64))] }, claims(), attacker)],
    ['crit b64:false', compact({ ...header, crit: ['b64'], b64: false }, claims(), spec.key)],
    ['wrong iss', real(header, { ...claims(), iss: 'https://evil.test' })],
    ['wrong aud', real(header, { ...claims(), aud: 'some-other-app' })],
    ['aud array', real(header, { ...claims(), aud: ['some-other-app', claims().aud ?? 'x'] })],
    ['typ JWT', real({ ...header, typ: 'JWT' })],
    ['typ missing', real({ alg, kid: spec.kid })],
    ...(spec.exactTyp
      ? ([
          ['typ upper-case', real({ ...header, typ: spec.typ.toUpperCase() })],
          ['typ application/ prefix', real({ ...header, typ: `application/${spec.typ}` })],
        ] as const)
      : []),
    ['expired', real(header, { ...claims(), iat: now - 7200, exp: now - 3600 })],
    ['issued in the future', real(header, { ...claims(), iat: now + 3600, exp: now + 7200 })],
    ['not yet valid (nbf)', real(header, { ...claims(), nbf: now + 3600 })],
    ['duplicate payload key (iss)', compact(header, (`{${validJson},"iss":"https://evil.test"}`), spec.key)],
    ['duplicate payload key (exp)', compact(header, (`{${validJson},"exp":${now + 10 * 365 * 86400}}`), spec.key)],
    ['duplicate header key (typ)', compact((`{"alg":"${alg}","kid":"${spec.kid}","typ":"${spec.typ}","typ":"JWT"}`), claims(), spec.key)],
    ['duplicate header key (alg)', compact((`{"alg":"none","kid":"${spec.kid}","typ":"${spec.typ}","alg":"${alg}"}`), claims(), spec.key)],
    ['JWE with zip DEF', jwe({ alg: 'dir', enc: 'A128GCM', zip: 'DEF', kid: spec.kid, typ: spec.typ })],
    ['JWE PBES2 with a huge p2c', jwe({ alg: 'PBES2-HS512+A256KW', enc: 'A256GCM', p2c: 2_147_483_647, p2s: b64(randomBytes(16)), typ: spec.typ })],
    ['JWE ECDH-ES with an embedded epk', jwe({ alg: 'ECDH-ES', enc: 'A256GCM', epk: attackerJwk, typ: spec.typ })],
    ['four segments', `${real(header)}.AAAA`],
    ['a space inside the payload segment', real(header).replace('.', '. ')],
    ['empty signature', `${real(header).split('.').slice(0, 2).join('.')}.`],
    ['payload not JSON', compact(header, 'not json', spec.key)],
    ['payload a JSON array', compact(header, '[1,2,3]', spec.key)],
    ...spec.otherKinds.map(([label, token]) => [`presented as this kind: ${label}`, token] as const),
  ];
  return { control: real(header), negatives };
}
