import http from 'node:http';
import type net from 'node:net';
import client from 'prom-client';

/** The process's Prometheus metrics; labels never carry statement text or identifiers. */
export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry });

const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export const statements = new client.Counter({
  name: 'aws_sql_bridge_statements_total',
  help: 'Statements run, by kind (select, insert, set...) and outcome (ok, error, canceled)',
  labelNames: ['kind', 'outcome'] as const,
  registers: [registry],
});
export const statementSeconds = new client.Histogram({
  name: 'aws_sql_bridge_statement_duration_seconds',
  help: 'Time a statement took, by kind and outcome',
  labelNames: ['kind', 'outcome'] as const,
  buckets,
  registers: [registry],
});
export const cloudControlCalls = new client.Counter({
  name: 'aws_sql_bridge_cloudcontrol_calls_total',
  help: 'Cloud Control calls, by operation, region, resource type and outcome (ok or the AWS error name)',
  labelNames: ['operation', 'region', 'type', 'outcome'] as const,
  registers: [registry],
});
export const cloudControlSeconds = new client.Histogram({
  name: 'aws_sql_bridge_cloudcontrol_call_duration_seconds',
  help: 'Time a Cloud Control call took (SDK retries included), by operation and outcome',
  labelNames: ['operation', 'outcome'] as const,
  buckets,
  registers: [registry],
});
export const connections = new client.Counter({
  name: 'aws_sql_bridge_connections_total',
  help: 'Client connections, by outcome (admitted, refused)',
  labelNames: ['outcome'] as const,
  registers: [registry],
});
export const openSessions = new client.Gauge({
  name: 'aws_sql_bridge_sessions_open',
  help: 'Sessions connected now (past authentication)',
  registers: [registry],
});

/** The outcome label of a statement that failed: canceled for 57014, else error. */
export function failedOutcome(err: unknown): string {
  return (err as { code?: string }).code === '57014' ? 'canceled' : 'error';
}

/**
 * `/metrics` (Prometheus text), `/healthz` (200 while the process serves HTTP) and `/readyz` (200 while `ready()`:
 * the engines are open and no shutdown has begun; 503 otherwise).
 */
export async function startMetricsServer(
  host: string,
  port: number,
  ready: () => boolean,
): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (url === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err: Error) => res.writeHead(500).end(err.message),
      );
    } else if (url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (url === '/readyz') {
      const ok = ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ready\n' : 'not ready\n');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('try /metrics, /healthz or /readyz\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
