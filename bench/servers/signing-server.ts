// Baseline (c), the signing limit: the same bare Fastify, but every request signs one fresh JWS of
// a grant's size with the grant key type (BENCH_ALG: EdDSA or ES256) through the same signer
// webiso uses, and returns it. No server that signs per request on one event loop can beat it;
// with BENCH_WORKERS=2, none that signs in two processes on one port.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Fastify from 'fastify';
import { createCompactSigner } from '../../src/keys/compact-jws.ts';
import { serveBaseline } from './child.ts';

const alg = process.env.BENCH_ALG === 'ES256' ? 'ES256' : 'EdDSA';
const { privateKey } = alg === 'EdDSA' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signer = createCompactSigner('bench-key', alg, JSON.stringify(privateKey.export({ format: 'jwk' })));

function build() {
  const app = Fastify({ logger: false });
  app.get('/', async (_request, reply) => {
    const now = Math.floor(Date.now() / 1000);
    // the claims of a basic grant, with the fields that change per request fresh each time
    const token = signer.sign(
      { typ: 'webiso-grant+jwt' },
      { sub: 'bench', kind: 'user', flavor: 'basic', nonce: 'bench-nonce-0123456789', auth_time: now, amr: ['pwd'], iss: 'http://127.0.0.1:1', aud: 'bench', iat: now, exp: now + 60, jti: randomBytes(18).toString('base64url'), sid: 'bench-session-id-0123456789' },
    );
    return reply.type('text/plain').send(token);
  });
  return app;
}

await serveBaseline(build, { alg });
