// The baseline: the same Fastify, no plugins, logger off, listening exactly as webiso does.
import Fastify from 'fastify';
import { serveBaseline } from './child.ts';

function build() {
  const app = Fastify({ logger: false });
  app.get('/', async () => ({ hello: 'world' }));
  return app;
}

await serveBaseline(build);
