import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createTestApp, hiddenField, ISSUER, loginThroughForm, testConfig } from '../support/webiso.ts';

const run = promisify(execFile);
const SCRIPT = join(fileURLToPath(new URL('.', import.meta.url)), 'verify-with-pyjwt.py');

async function verifyWithPyJwt(jwksPath: string, grant: string, audience: string) {
  const { stdout } = await run('/usr/bin/python3', [SCRIPT, jwksPath, grant, ISSUER, audience]);
  return JSON.parse(stdout) as { alg: string; claims: Record<string, unknown> };
}

describe('a grant verifies with an independent JOSE implementation (PyJWT) using only the JWKS', () => {
  for (const algorithm of ['EdDSA', 'ES256'] as const) {
    it(`${algorithm} grants`, async () => {
      const config = testConfig({ grant: { algorithm } });
      const test = await createTestApp({ config });
      try {
        const { response } = await loginThroughForm(test.app);
        const grant = hiddenField(response.body, 'grant');
        assert.ok(grant, 'the login produced a grant');
        const jwksPath = join(config.dataDir, 'jwks.json');
        writeFileSync(jwksPath, (await test.app.inject('/.well-known/jwks.json')).body);

        const verified = await verifyWithPyJwt(jwksPath, grant, 'app');
        assert.equal(verified.alg, algorithm);
        assert.equal(verified.claims.sub, 'alice');
        assert.equal(verified.claims.kind, 'user');
        assert.equal(verified.claims.nonce, 'nonce-123');

        // The same verifier refuses the grant for another audience and a tampered copy.
        await assert.rejects(verifyWithPyJwt(jwksPath, grant, 'other'));
        const [header, payload, signature] = grant.split('.') as [string, string, string];
        const forged = Buffer.from(JSON.stringify({ ...verified.claims, sub: 'mallory' })).toString('base64url');
        await assert.rejects(verifyWithPyJwt(jwksPath, `${header}.${forged}.${signature}`, 'app'));
        assert.ok(payload.length > 0);
      } finally {
        await test.close();
      }
    });
  }
});
