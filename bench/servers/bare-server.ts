// The baseline: the same Fastify, no plugins, logger off, listening exactly as webiso does.
import Fastify from 'fastify';
import { announceAndServe, freePort, HOST } from './child.ts';

const app = Fastify({ logger: false });
app.get('/', async () => ({ hello: 'world' }));

const port = await freePort();
const url = await app.listen({ host: HOST, port });
announceAndServe({ url }, () => app.close());
