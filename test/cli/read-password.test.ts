import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { checkNewPassword, passwordFromInput, readNewPassword } from '../../src/cli/read-password.ts';

const piped = (text: string) => Object.assign(Readable.from([Buffer.from(text, 'utf8')]), { isTTY: false }) as unknown as NodeJS.ReadStream;

describe('a new password from standard input', () => {
  it('is the first line; a second line must repeat it', () => {
    assert.equal(passwordFromInput('pw-line\n'), 'pw-line');
    assert.equal(passwordFromInput('pw-line'), 'pw-line', 'no final newline');
    assert.equal(passwordFromInput('pw-line\npw-line\n'), 'pw-line', 'typed twice');
    assert.equal(passwordFromInput('pw-line\r\npw-line\r\n'), 'pw-line', 'CR LF');
    assert.equal(passwordFromInput('pw-line\rpw-line\r'), 'pw-line', 'CR alone ends a line too');
    assert.equal(passwordFromInput(' spaced pw \n'), ' spaced pw ', 'spaces are part of it');
  });

  it('refuses two different lines, more than two, and nothing', () => {
    assert.throws(() => passwordFromInput('pw-one\npw-two\n'), /^Error: the two passwords differ$/);
    assert.throws(() => passwordFromInput('pw-one\n\n'), /the two passwords differ/, 'an empty second line is not the same password');
    assert.throws(() => passwordFromInput('a\na\na\n'), /more than two lines/);
    for (const empty of ['', '\n', '\r\n', '\npw-after-empty\n']) assert.throws(() => passwordFromInput(empty), /^Error: no password given$/, JSON.stringify(empty));
  });

  it('never accepts control characters, whatever their position', () => {
    for (const bad of ['tab\there-pw', 'esc\u001b[0m-password', 'nul\u0000-password', 'del\u007f-password', 'c1\u0085-password']) {
      assert.throws(() => checkNewPassword(bad), /must not contain control characters/, JSON.stringify(bad));
    }
    assert.equal(checkNewPassword('Ünïcødé pässwörd'), 'Ünïcødé pässwörd');
    assert.throws(() => checkNewPassword('short'), /at least 8 characters/);
    assert.throws(() => checkNewPassword('x'.repeat(1025)), /at most 1024 characters/);
  });

  it('readNewPassword applies both to a pipe', async () => {
    assert.equal(await readNewPassword(piped('piped-password\npiped-password\n')), 'piped-password');
    await assert.rejects(readNewPassword(piped('piped-password\nother-password\n')), /the two passwords differ/);
    await assert.rejects(readNewPassword(piped('')), /no password given/);
    await assert.rejects(readNewPassword(piped('y'.repeat(10_000))), /too long/);
  });
});
