// Load for /cas/p3/serviceValidate: every request validates a different fresh ticket, which the
// autocannon CLI cannot do (one URL), so this is autocannon's API in its own process, printing
// the same JSON line as the CLI. Arguments: URL TICKETS_FILE SERVICE CONNECTIONS DURATION WARMUP.
import autocannon from 'autocannon';
import { readFileSync } from 'node:fs';

const [url, ticketsFile, service, connections, duration, warmup] = process.argv.slice(2);
if (!url || !ticketsFile || !service || !connections || !duration || !warmup) throw new Error('usage: ticket-validation.ts URL TICKETS_FILE SERVICE CONNECTIONS DURATION WARMUP');
const tickets = readFileSync(ticketsFile, 'utf8').split('\n');
const target: string = url;
let next = 0;
const path = () => {
  const ticket = tickets[next++];
  if (ticket === undefined) throw new Error('ran out of pre-minted tickets: raise PREMINTED_TICKETS');
  return `/cas/p3/serviceValidate?${new URLSearchParams({ service, ticket })}`;
};

async function run(seconds: number) {
  return autocannon({ url: target, connections: Number(connections), duration: seconds, requests: [{ method: 'GET', setupRequest: (request) => ({ ...request, path: path() }) }] });
}

await run(Number(warmup));
const result = await run(Number(duration));
process.stdout.write(`${JSON.stringify(result)}\n`);
