import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { startServer, type RunningServer } from '../../src/server.ts';
import { testConfig } from '../support/webiso.ts';

/** A throwaway self-signed P-256 certificate for CN=`name`, in `dir`/`name`.{crt,key}. */
function selfSigned(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', `/CN=${name}`, '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert, key };
}

/** One fresh connection (no keep-alive): which certificate the server presents now, and the headers. */
function fetchOver(url: string, path: string): Promise<{ status: number; cn: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { rejectUnauthorized: false, agent: false }, (res) => {
      const cn = String((res.socket as TLSSocket).getPeerCertificate().subject?.CN ?? '');
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, cn, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('HTTPS served directly (tls.certFile, tls.keyFile)', () => {
  let dir: string;
  let server: RunningServer;
  let live: { cert: string; key: string };
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'webiso-tls-'));
    const first = selfSigned(dir, 'first');
    live = { cert: join(dir, 'live.crt'), key: join(dir, 'live.key') };
    copyFileSync(first.cert, live.cert);
    copyFileSync(first.key, live.key);
    // an http:// issuer on purpose: HSTS must follow from serving TLS, not only from the issuer
    const config = testConfig({ issuer: 'http://localhost', listen: { port: 0 }, tls: { certFile: live.cert, keyFile: live.key } });
    server = await startServer(config);
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves HTTPS with HSTS on', async () => {
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const response = await fetchOver(server.url, '/healthz');
    assert.equal(response.status, 200);
    assert.equal(response.cn, 'first');
    assert.equal(response.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
  });

  it('reloads the certificate on SIGHUP, and keeps the old one when the new pair is broken', async () => {
    const second = selfSigned(dir, 'second');
    copyFileSync(second.cert, live.cert);
    copyFileSync(second.key, live.key);
    process.emit('SIGHUP', 'SIGHUP');
    assert.equal((await fetchOver(server.url, '/healthz')).cn, 'second');

    const third = selfSigned(dir, 'third');
    copyFileSync(third.cert, live.cert); // third's certificate with second's key: not a pair
    process.emit('SIGHUP', 'SIGHUP');
    const after = await fetchOver(server.url, '/healthz');
    assert.equal(after.status, 200);
    assert.equal(after.cn, 'second', 'the broken pair was refused');
  });

  it('a certificate file that cannot be read is a start-up error naming the option', async () => {
    const config = testConfig({ listen: { port: 0 }, tls: { certFile: join(dir, 'missing.crt'), keyFile: live.key } });
    await assert.rejects(startServer(config), /tls\.certFile: cannot read/);
  });

  it('stops listening for SIGHUP when closed', async () => {
    const before = process.listenerCount('SIGHUP');
    const other = await startServer(testConfig({ listen: { port: 0 }, tls: { certFile: live.cert.replace('live', 'second'), keyFile: live.key } }));
    assert.equal(process.listenerCount('SIGHUP'), before + 1);
    await other.close();
    assert.equal(process.listenerCount('SIGHUP'), before);
  });
});
