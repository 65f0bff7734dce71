// webiso started the way `webiso serve --workers 1` starts it (startServer), with one account and
// one SSO session (webiso-setup.ts), a kiosk, and pre-minted CAS tickets.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createTicketRepository } from '../../src/cas/ticket-repository.ts';
import { hashTicket, newServiceTicket } from '../../src/cas/service-ticket.ts';
import { parseConfig } from '../../src/config/load.ts';
import { startServer } from '../../src/server.ts';
import { hashPassword } from '../../src/verifiers/password-hash.ts';
import { announceAndServe, freePort } from './child.ts';
import { benchConfig, CAS_SERVICE, grantAlgorithm, loginPath, logIn, PASSWORD, USERNAME } from './webiso-setup.ts';

/** Enough fresh tickets for the validation target's warm-up and run at well over the rates seen here. */
// the PostgreSQL run measures the SSO redirect only: no tickets needed
const PREMINTED_TICKETS = 150_000;
const KIOSK_FQDN = 'kiosk1.bench.example.edu';

/**
 * Service tickets for the validation target, stored through the same repository /cas/login uses
 * (one transaction), each valid for an hour instead of 60 s so the run's order does not matter:
 * what is measured is validation, issuance is the /cas/login target.
 */
async function premintTickets(app: FastifyInstance, count: number): Promise<string[]> {
  const now = Math.floor(Date.now() / 1000);
  const subject = { kind: 'user', username: USERNAME, authTime: now, amr: ['pwd'], roles: ['staff'] } as const;
  const tickets = Array.from({ length: count }, () => newServiceTicket());
  await app.webiso.store.transaction(async (trx) => {
    const repository = createTicketRepository(trx);
    for (const ticket of tickets) {
      await repository.save(hashTicket(ticket), { appId: 'bench-cas', service: CAS_SERVICE, subject, flavor: 'basic', fromNewLogin: false, sid: 'bench-premint', createdAt: now, expiresAt: now + 3600 });
    }
  });
  return tickets;
}

/** A registered kiosk and its machine cookie, for the machine path (cookie checked, version read, sighting written, grant signed). */
async function mintKiosk(app: FastifyInstance): Promise<string> {
  const actor = { name: 'bench' };
  await app.webiso.machines.operations.add(KIOSK_FQDN, { entitlements: ['library-walk-in'], location: 'Benchmark floor' }, actor);
  return (await app.webiso.machines.operations.mint(KIOSK_FQDN, 30, actor)).cookie;
}

const dataDir = mkdtempSync(join(tmpdir(), 'webiso-bench-'));
const port = await freePort();
const config = parseConfig(benchConfig(dataDir, port));
const server = await startServer(config);
try {
  await server.app.webiso.users.add(USERNAME, await hashPassword(PASSWORD), [], new Date());
  const ssoCookie = await logIn(server.app);
  const ticketsFile = join(dataDir, 'tickets.txt');
  writeFileSync(ticketsFile, (await premintTickets(server.app, process.env.BENCH_PG_URL ? 0 : PREMINTED_TICKETS)).join('\n'));
  const casLoginPath = `/cas/login?${new URLSearchParams({ service: CAS_SERVICE })}`;
  const machinePath = `/login?${new URLSearchParams({ appid: 'bench', return: 'http://127.0.0.1:9/cb', flavor: 'machineoruser', nonce: 'bench-nonce-0123456789' })}`;
  const machineCookie = await mintKiosk(server.app);
  announceAndServe({ url: server.url, issuer: config.issuer, alg: grantAlgorithm, loginPath, casLoginPath, casService: CAS_SERVICE, ticketsFile, machinePath, machineCookie: `__Host-webiso_machine=${machineCookie}`, cookie: `__Host-webiso_login=${ssoCookie}` }, async () => {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
} catch (error) {
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
  throw error;
}
