// Grant verification in webiso/client, one core, against raw crypto.verify of the same tokens:
// what the library adds (parsing, claim checks, the jti replay store) on top of the signature.
// Prints one JSON line: { clientPerSecond, rawPerSecond }. Arguments: SECONDS ALG.
import { generateKeyPairSync, randomBytes, verify } from 'node:crypto';
import { createLocalJWKSet, exportJWK } from 'jose';
import { createGrantVerifier } from '../../src/client/verify-grant.ts';
import { createCompactSigner } from '../../src/keys/compact-jws.ts';

const seconds = Number(process.argv[2] ?? 5);
const alg = process.argv[3] === 'ES256' ? 'ES256' : 'EdDSA';
const ISSUER = 'https://login.example.edu';
const { privateKey, publicKey } = alg === 'EdDSA' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signer = createCompactSigner('k1', alg, JSON.stringify(privateKey.export({ format: 'jwk' })));
const jwks = createLocalJWKSet({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg, use: 'sig' }] });

/** Fresh grants: every jti is single-use, so each verification needs its own token. */
function grants(count: number): string[] {
  const now = Math.floor(Date.now() / 1000);
  return Array.from({ length: count }, () =>
    signer.sign({ typ: 'webiso-grant+jwt' }, { sub: 'bench', kind: 'user', flavor: 'basic', nonce: 'n-bench', auth_time: now, amr: ['pwd'], iss: ISSUER, aud: 'bench', iat: now, exp: now + 60, jti: randomBytes(18).toString('base64url'), sid: 'bench-session-id-0123456789' }),
  );
}

async function clientRate(): Promise<number> {
  const verifier = createGrantVerifier({ issuer: ISSUER, appId: 'bench', jwks, algorithms: [alg] });
  const tokens = grants(200_000);
  const start = performance.now();
  let done = 0;
  while (performance.now() - start < seconds * 1000 && done < tokens.length) {
    const result = await verifier.verify(tokens[done++], { expectedNonce: 'n-bench' });
    if (!result.ok) throw new Error(`client refused a good grant: ${result.error.code}`);
  }
  return done / ((performance.now() - start) / 1000);
}

function rawRate(): number {
  const tokens = grants(50_000).map((token) => {
    const [header, payload, signature] = token.split('.');
    return { data: Buffer.from(`${header}.${payload}`), signature: Buffer.from(signature!, 'base64url') };
  });
  const start = performance.now();
  let done = 0;
  while (performance.now() - start < seconds * 1000) {
    const { data, signature } = tokens[done++ % tokens.length]!;
    const ok = alg === 'EdDSA' ? verify(null, data, publicKey, signature) : verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature);
    if (!ok) throw new Error('raw verify failed');
  }
  return done / ((performance.now() - start) / 1000);
}

/** WebCrypto's verify (what jose uses in Node): asynchronous, through the thread pool. */
async function webCryptoRate(): Promise<number> {
  const key = await crypto.subtle.importKey('jwk', await exportJWK(publicKey), alg === 'EdDSA' ? { name: 'Ed25519' } : { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
  const params = alg === 'EdDSA' ? { name: 'Ed25519' } : { name: 'ECDSA', hash: 'SHA-256' };
  const tokens = grants(50_000).map((token) => {
    const [header, payload, signature] = token.split('.');
    return { data: Buffer.from(`${header}.${payload}`), signature: Buffer.from(signature!, 'base64url') };
  });
  const start = performance.now();
  let done = 0;
  while (performance.now() - start < seconds * 1000) {
    const { data, signature } = tokens[done++ % tokens.length]!;
    if (!(await crypto.subtle.verify(params, key, signature, data))) throw new Error('WebCrypto verify failed');
  }
  return done / ((performance.now() - start) / 1000);
}

const raw = rawRate();
const webCrypto = await webCryptoRate();
const client = await clientRate();
process.stdout.write(`${JSON.stringify({ alg, clientPerSecond: client, rawPerSecond: raw, webCryptoPerSecond: webCrypto })}\n`);
