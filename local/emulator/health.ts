// GET /health, as the official emulator serves it on port 5300. The health port opens last, after
// the AMQP (and TLS) listeners: it answers 200 from then on and 503 once stopping has begun (the
// AMQP listener closes before the health port does).
import http from 'node:http';
import { listen } from './listen';

export async function startHealthServer(
  host: string,
  port: number,
  isHealthy: () => boolean,
): Promise<http.Server> {
  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== '/health') {
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ status: 'not found', message: 'Use GET /health.' }));
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { 'content-type': 'application/json', allow: 'GET, HEAD' });
      response.end(JSON.stringify({ status: 'method not allowed', message: 'Use GET /health.' }));
      return;
    }
    const healthy = isHealthy();
    response.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' });
    response.end(
      JSON.stringify(
        healthy
          ? { status: 'healthy', message: 'Service is healthy.' }
          : { status: 'unhealthy', message: 'Service not available. Please try after some time.' },
      ),
    );
  });
  server.keepAliveTimeout = 1000;
  await listen(server, host, port);
  return server;
}
