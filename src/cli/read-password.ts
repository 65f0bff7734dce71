import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';

export const MIN_PASSWORD_LENGTH = 8;

async function readAll(input: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
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
 * A password comes from standard input (scripts: `echo pw | webiso user add x`) or an echo-free
 * prompt, never from the command line, where it would land in shell history and `ps`.
 */
export async function readNewPassword(input: NodeJS.ReadStream = process.stdin, output: Writable = process.stderr): Promise<string> {
  let password: string;
  if (input.isTTY) {
    password = await promptHidden('Password: ', input, output);
    const again = await promptHidden('Password again: ', input, output);
    if (again !== password) throw new Error('the two passwords differ');
  } else {
    // Exactly one trailing newline is the line terminator; everything else is the password.
    password = (await readAll(input)).replace(/\r?\n$/, '');
  }
  if (password.length < MIN_PASSWORD_LENGTH) throw new Error(`the password must be at least ${MIN_PASSWORD_LENGTH} characters long`);
  if (password.length > 1024) throw new Error('the password must be at most 1024 characters long');
  return password;
}
