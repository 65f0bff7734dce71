// The PostgreSQL server of the suite's PostgreSQL pass (test/run.mjs): started once, torn down when
// the runner closes our stdin (or kills us). Prints one JSON line: the URL and the password file.
import { startPostgres } from './postgres.ts';

const server = await startPostgres();
let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await server.stop();
  process.exit(0);
}
process.stdin.on('end', () => void stop());
process.stdin.on('close', () => void stop());
process.stdin.resume();
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void stop());
process.stdout.write(`${JSON.stringify({ url: server.url, passwordFile: server.passwordFile, pid: server.pid })}\n`);
