import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { isLocalPath, safeLocalPath } from '../../src/client/index.ts';

describe('isLocalPath', () => {
  const accepted = ['/', '/private', '/private?x=1&y=%2F%2F', '/a/b#frag', '/%2F%2Fevil.example'];
  const refused = [
    '',
    'private',
    '//evil.example',
    '//evil.example/path',
    '/\\evil.example',
    '/x\\..\\..',
    '\\\\evil.example',
    '/\t/evil.example',
    '/\n/evil.example',
    'https://evil.example/',
    'javascript:alert(1)',
    ' /private',
  ];
  for (const path of accepted) it(`accepts ${JSON.stringify(path)}`, () => assert.equal(isLocalPath(path), true));
  for (const path of refused) it(`refuses ${JSON.stringify(path)}`, () => assert.equal(isLocalPath(path), false));
  it('falls back to / for unsafe values', () => {
    assert.equal(safeLocalPath('//evil.example'), '/');
    assert.equal(safeLocalPath(undefined), '/');
  });
});
