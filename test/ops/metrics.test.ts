import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { countAuthEvent } from '../../src/ops/metric-feeds.ts';
import { createMetrics } from '../../src/ops/metrics.ts';
import { casLogin, casConfig, CAS_USERS, validate } from '../support/cas.ts';
import { createMachineTestApp, KIOSK, mintInBrowser, requestLogin, type MachineTestApp } from '../support/machines.ts';
import { CookieJar, createTestApp, loginThroughForm, testConfig, type TestApp } from '../support/webiso.ts';

const LOOPBACK = { remoteAddress: '127.0.0.1' };

async function scrape(app: FastifyInstance, headers: Record<string, string> = {}) {
  return app.inject({ method: 'GET', url: '/metrics', headers, ...LOOPBACK });
}

/** The value of one series in Prometheus text format (labels given in the exposition's order). */
function series(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

describe('GET /metrics: access', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(async () => t.close());

  it('answers a direct loopback client in Prometheus text format', async () => {
    const response = await scrape(t.app);
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.match(response.body, /^# HELP webiso_logins_total /m);
    assert.match(response.body, /^nodejs_eventloop_lag_p99_seconds /m, 'event-loop delay from the process registry');
  });

  it('answers 503 JSON, not a 500, when the scrape it delegates to (the primary, with --workers) fails', async () => {
    const app = await createTestApp();
    try {
      app.app.webiso.metrics.scrapeWith(() => Promise.reject(new Error('the primary did not answer the metrics scrape in time')));
      const response = await scrape(app.app);
      assert.equal(response.statusCode, 503);
      assert.deepEqual(response.json(), { error: 'temporarily_unavailable' });
      assert.equal(response.headers['retry-after'], '5');
    } finally {
      await app.close();
    }
  });

  it('refuses any other address, and a loopback connection carrying a forwarding header (a local proxy)', async () => {
    const remote = await t.app.inject({ method: 'GET', url: '/metrics', remoteAddress: '203.0.113.9' });
    assert.equal(remote.statusCode, 403);
    assert.doesNotMatch(remote.body, /webiso_/);
    const proxied = await scrape(t.app, { 'x-forwarded-for': '203.0.113.9' });
    assert.equal(proxied.statusCode, 403);
    const forwarded = await scrape(t.app, { forwarded: 'for=203.0.113.9' });
    assert.equal(forwarded.statusCode, 403);
  });
});

describe('GET /metrics: bearer token from a file', () => {
  const TOKEN = 'metrics-token-0123456789abcdef';
  let t: TestApp;
  let dir: string;
  const lines: string[] = [];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'webiso-ops-'));
    writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
    const logStream = new Writable({ write: (chunk, _encoding, done) => (lines.push(String(chunk)), done()) });
    const config = testConfig({ logLevel: 'debug', ops: { metrics: { access: 'token', tokenFile: join(dir, 'token') } } });
    t = await createTestApp({ config, logger: true, logStream });
  });
  after(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('needs the exact token, from loopback too, and never logs it', async () => {
    assert.equal((await scrape(t.app)).statusCode, 403, 'loopback alone is not enough in token mode');
    assert.equal((await scrape(t.app, { authorization: `Bearer ${TOKEN}x` })).statusCode, 403);
    assert.equal((await scrape(t.app, { authorization: `Bearer ${TOKEN.slice(0, -1)}` })).statusCode, 403);
    assert.equal((await scrape(t.app, { authorization: `Basic ${TOKEN}` })).statusCode, 403);
    const remote = await t.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` }, remoteAddress: '203.0.113.9' });
    assert.equal(remote.statusCode, 200);
    assert.ok(lines.length > 0, 'request logging is on (control)');
    assert.ok(!lines.join('').includes(TOKEN), 'the token is in no log line');
  });

  it('a token file that cannot be read is a start-up error naming the option', async () => {
    const config = testConfig({ ops: { metrics: { access: 'token', tokenFile: join(dir, 'missing') } } });
    await assert.rejects(createTestApp({ config }), /ops\.metrics\.tokenFile: cannot read/);
  });
});

describe('GET /metrics: figures', () => {
  it('counts logins by outcome and flavor, throttles, grants, verifier latency and request times', async () => {
    const t = await createTestApp({ config: testConfig({ throttle: { maxFailuresPerAccount: 2 } }) });
    try {
      await loginThroughForm(t.app);
      await loginThroughForm(t.app, { password: 'wrong' });
      await loginThroughForm(t.app, { username: 'bob', password: 'wrong' });
      await loginThroughForm(t.app, { username: 'bob', password: 'wrong' });
      await loginThroughForm(t.app, { username: 'bob', password: 'wrong' });
      const text = (await scrape(t.app)).body;
      assert.equal(series(text, 'webiso_logins_total', 'outcome="success",flavor="basic"'), 1);
      assert.equal(series(text, 'webiso_logins_total', 'outcome="failure",flavor="basic"'), 3);
      assert.equal(series(text, 'webiso_logins_total', 'outcome="throttled",flavor="basic"'), 1);
      assert.equal(series(text, 'webiso_login_throttled_total'), 1);
      assert.equal(series(text, 'webiso_grants_issued_total', 'app="app",flavor="basic"'), 1);
      assert.equal(series(text, 'webiso_verifier_duration_seconds_count', 'verifier="local",outcome="ok"'), 1);
      assert.equal(series(text, 'webiso_verifier_duration_seconds_count', 'verifier="local",outcome="invalid_credentials"'), 3);
      assert.equal(series(text, 'webiso_http_request_duration_seconds_count', 'method="POST",route="/login",status="2xx"'), 1);
      assert.equal(series(text, 'webiso_http_request_duration_seconds_count', 'method="POST",route="/login",status="4xx"'), 4);
      assert.equal(series(text, 'webiso_audit_events_total', 'event="login.success"'), 1);
    } finally {
      await t.close();
    }
  });

  it('counts CAS tickets issued and validations by outcome', async () => {
    const t = await createTestApp({ config: casConfig(), users: CAS_USERS });
    try {
      const { ticket } = await casLogin(t.app);
      assert.ok(ticket);
      await validate(t.app, '/cas/p3/serviceValidate', { ticket, service: 'https://cas.example.edu/secure/page.php?x=1' });
      await validate(t.app, '/cas/p3/serviceValidate', { ticket, service: 'https://cas.example.edu/secure/page.php?x=1' });
      const text = (await scrape(t.app)).body;
      assert.equal(series(text, 'webiso_cas_tickets_issued_total', 'app="portal"'), 1);
      assert.equal(series(text, 'webiso_cas_validations_total', 'outcome="validated"'), 1);
      assert.equal(series(text, 'webiso_cas_validations_total', 'outcome="refused"'), 1);
    } finally {
      await t.close();
    }
  });

  it('counts machine sightings by outcome and reason, and alerts by rule', async () => {
    const t: MachineTestApp = await createMachineTestApp();
    try {
      const jar = new CookieJar();
      await mintInBrowser(t.app, jar, KIOSK, '30');
      await requestLogin(t.app, jar, {}, { remoteAddress: '192.0.2.10' });
      await requestLogin(t.app, jar, {}, { remoteAddress: '198.51.100.20' });
      const forged = new CookieJar();
      forged.cookies.set('__Host-webiso_machine', 'e30.e30.AAAA');
      await requestLogin(t.app, forged);
      const text = (await scrape(t.app)).body;
      assert.ok((series(text, 'webiso_machine_sightings_total', 'outcome="accepted",reason="none"') ?? 0) >= 1);
      assert.equal(series(text, 'webiso_machine_sightings_total', 'outcome="rejected",reason="wrong_typ"'), 1);
      assert.ok((series(text, 'webiso_machine_alerts_total', 'rule="teleport"') ?? 0) >= 1, 'two networks within seconds: a teleport alert');
    } finally {
      await t.close();
    }
  });

  it('counts single-logout deliveries by channel and result, and folds unknown apps and flavors', () => {
    const metrics = createMetrics(['app']);
    countAuthEvent(metrics, { event: 'logout.delivery', appId: 'app', detail: 'channel=backchannel attempt=1 delivered status=204' });
    countAuthEvent(metrics, { event: 'logout.delivery', appId: 'app', detail: 'channel=cas attempt=3 gave_up error=timeout' });
    countAuthEvent(metrics, { event: 'grant.issued', appId: 'attacker-chosen', flavor: 'evil\nflavor' });
    return metrics.render().then((text) => {
      assert.equal(series(text, 'webiso_logout_deliveries_total', 'channel="backchannel",result="delivered"'), 1);
      assert.equal(series(text, 'webiso_logout_deliveries_total', 'channel="cas",result="gave_up"'), 1);
      assert.equal(series(text, 'webiso_grants_issued_total', 'app="other",flavor="other"'), 1);
    });
  });
});
