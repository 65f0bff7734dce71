import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestApp, HTML, type TestApp } from '../support/webiso.ts';

describe('the favicon', () => {
  let t: TestApp;
  before(async () => (t = await createTestApp()));
  after(async () => t.close());

  it('/favicon.ico is a 16×16 icon, cacheable, with the usual headers', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/favicon.ico' });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['content-type'], 'image/x-icon');
    assert.equal(response.headers['cache-control'], 'public, max-age=86400');
    assert.equal(response.headers['x-content-type-options'], 'nosniff');
    const ico = response.rawPayload;
    assert.deepEqual([ico.readUInt16LE(0), ico.readUInt16LE(2), ico.readUInt16LE(4)], [0, 1, 1], 'ICONDIR: an icon with one image');
    assert.deepEqual([ico.readUInt8(6), ico.readUInt8(7), ico.readUInt16LE(12)], [16, 16, 32], '16×16, 32 bits per pixel');
    assert.equal(ico.readUInt32LE(14) + ico.readUInt32LE(18), ico.length, 'the image runs to the end of the file');
    assert.equal(ico.readUInt32LE(22), 40, 'a BITMAPINFOHEADER');
    const centre = 62 + (8 * 16 + 8) * 4;
    assert.equal(ico.readUInt8(centre + 3), 0xff, 'opaque in the middle');
    assert.equal(ico.readUInt8(62 + 3), 0, 'transparent in the rounded corner');
  });

  it('/favicon.svg is an SVG, and every page links it', async () => {
    const svg = await t.app.inject({ method: 'GET', url: '/favicon.svg' });
    assert.equal(svg.statusCode, 200);
    assert.equal(svg.headers['content-type'], 'image/svg+xml');
    assert.match(svg.body, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 16 16">/);
    assert.doesNotMatch(svg.body, /<script|on\w+=/i);
    for (const url of ['/', '/admin/login', '/no-such-page']) {
      const page = await t.app.inject({ method: 'GET', url, headers: HTML });
      assert.match(page.body, /<link rel="icon" href="\/favicon\.svg" type="image\/svg\+xml">/, url);
    }
  });
});
