import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { CliError } from './errors.ts';

export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 1024;
/** Standard input beyond this is not a password typed twice, whatever it is. */
const MAX_INPUT_BYTES = 8192;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LINE_END = /\r\n|\n|\r/;

async function readAll(input: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_INPUT_BYTES) throw new CliError('standard input is too long for a password');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Prompts on a terminal with echo off. */
function promptHidden(question: string, input: NodeJS.ReadStream, output: Writable): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input, output, terminal: true });
    const writeOriginal = output.write.bind(output);
    let muted = false;
    (output as { write: unknown }).write = (chunk: string | Uint8Array, ...rest: unknown[]) =>
      muted ? true : (writeOriginal as (...args: unknown[]) => boolean)(chunk, ...rest);
    rl.question(question, (answer) => {
      (output as { write: unknown }).write = writeOriginal;
      output.write('\n');
      rl.close();
      resolve(answer);
    });
    muted = true;
  });
}

/**
 * The password in what a script piped in: the first line; a second line, if there is one, must
 * repeat it (the "typed twice" convention of `passwd`-like tools, `printf 'pw\npw\n'`). Line ends
 * (LF, CRLF, CR) separate lines and are never part of the password.
 */
export function passwordFromInput(text: string): string {
  const lines = text.split(LINE_END);
  if (lines.at(-1) === '') lines.pop(); // the terminator of the last line
  const [password = '', again] = lines;
  if (password === '') throw new CliError('no password given');
  if (lines.length > 2) throw new CliError('standard input has more than two lines: give the password once, or twice on two lines');
  if (again !== undefined && again !== password) throw new CliError('the two passwords differ');
  return password;
}

/** Refuses, never repairs: a password no browser can type is a mistake, not a password. */
export function checkNewPassword(password: string): string {
  if (password === '') throw new CliError('no password given');
  if (CONTROL.test(password)) throw new CliError('the password must not contain control characters (tabs, escapes)');
  if (password.length < MIN_PASSWORD_LENGTH) throw new CliError(`the password must be at least ${MIN_PASSWORD_LENGTH} characters long`);
  if (password.length > MAX_PASSWORD_LENGTH) throw new CliError(`the password must be at most ${MAX_PASSWORD_LENGTH} characters long`);
  return password;
}

async function promptTwice(input: NodeJS.ReadStream, output: Writable): Promise<string> {
  const password = await promptHidden('Password: ', input, output);
  if (password === '') throw new CliError('no password given');
  const again = await promptHidden('Password again: ', input, output);
  if (again !== password) throw new CliError('the two passwords differ');
  return password;
}

/**
 * A password comes from standard input (scripts: `printf '%s\n' "$PW" | webiso user add x`) or an
 * echo-free prompt, never from the command line, where it would land in shell history and `ps`.
 */
export async function readNewPassword(input: NodeJS.ReadStream = process.stdin, output: Writable = process.stderr): Promise<string> {
  const password = input.isTTY ? await promptTwice(input, output) : passwordFromInput(await readAll(input));
  return checkNewPassword(password);
}
