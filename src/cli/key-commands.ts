import type { Command } from 'commander';
import { createKeysRepository } from '../keys/keys-repository.ts';
import type { SigningAlgorithm } from '../keys/keystore.ts';
import { keystoreFor, withStore } from './context.ts';
import { CliError } from './errors.ts';
import { print, printTable, time } from './output.ts';

const ALGORITHMS: readonly SigningAlgorithm[] = ['EdDSA', 'ES256'];

function keyState(retiredAt: number | null, publishUntil: number | null, now: number): string {
  if (retiredAt === null) return 'active';
  return publishUntil !== null && publishUntil > now ? `retired, published until ${time(publishUntil)}` : 'retired';
}

/** `webiso keys …`: the grant signing keys. */
export function registerKeyCommands(program: Command): void {
  const keys = program.command('keys').description('signing keys');
  keys
    .command('rotate')
    .description('add a new grant signing key; the old public key stays published until its grants have expired')
    .option('--alg <alg>', 'EdDSA or ES256 (default: grant.algorithm from the config)')
    .action(async (options: { alg?: string }) =>
      withStore(async (store, config) => {
        const alg = (options.alg ?? config.grant.algorithm) as SigningAlgorithm;
        if (!ALGORITHMS.includes(alg)) throw new CliError(`invalid --alg "${options.alg}": use EdDSA or ES256`);
        const keystore = keystoreFor(store.db, config);
        try {
          // running servers sign with it within their key cache period (5 s)
          print(`new grant signing key ${await keystore.rotate('grant', alg)} (${alg}) is now active`);
        } finally {
          keystore.close();
        }
      }),
    );
  keys
    .command('list')
    .description('list signing keys and whether they are published')
    .action(async () =>
      withStore(async (store) => {
        const now = Math.floor(Date.now() / 1000);
        const rows = await createKeysRepository(store.db).all();
        if (rows.length === 0) return print('no keys yet: they are created on first start');
        printTable(
          ['KID', 'PURPOSE', 'ALGORITHM', 'CREATED', 'STATE'],
          rows.map((key) => [key.kid, key.purpose, key.alg, time(key.createdAt), keyState(key.retiredAt, key.publishUntil, now)]),
        );
      }),
    );
}
