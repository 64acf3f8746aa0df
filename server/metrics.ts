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
export const cloudControlThrottles = new client.Counter({
  name: 'aws_sql_bridge_cloudcontrol_throttles_total',
  help: 'ThrottlingException answers from Cloud Control, each attempt counted (the SDK retries them), by operation and region',
  labelNames: ['operation', 'region'] as const,
  registers: [registry],
});
export const cloudControlRetries = new client.Counter({
  name: 'aws_sql_bridge_cloudcontrol_retries_total',
  help: "Attempts the SDK made beyond each call's first, by operation and region",
  labelNames: ['operation', 'region'] as const,
  registers: [registry],
});
export const cloudControlQueueSeconds = new client.Histogram({
  name: 'aws_sql_bridge_cloudcontrol_queue_wait_seconds',
  help: 'Time a Cloud Control call waited for a slot under --max-concurrency',
  buckets,
  registers: [registry],
});
export const cacheLookups = new client.Counter({
  name: 'aws_sql_bridge_cache_lookups_total',
  help: 'Read cache lookups, by result: hit (a kept answer), miss (a new call), coalesced (joined an identical call in flight)',
  labelNames: ['result'] as const,
  registers: [registry],
});
export const resultCache = new client.Counter({
  name: 'aws_sql_bridge_result_cache_total',
  help: 'Session result cache: hit (a kept answer sent, the engine not used), miss (none current), stored (an answer kept)',
  labelNames: ['outcome'] as const,
  registers: [registry],
});
export const engineRestarts = new client.Counter({
  name: 'aws_sql_bridge_engine_restarts_total',
  help: 'Engine worker restarts, by reason',
  labelNames: ['reason'] as const,
  registers: [registry],
});
export const engineReusedPlans = new client.Counter({
  name: 'aws_sql_bridge_engine_reused_plans_total',
  help: 'Statements the engine ran as a prepared statement of texts differing only in literals: prepared (parsed and planned now), reused (bound again), refused (the text ran as it is)',
  labelNames: ['outcome'] as const,
  registers: [registry],
});
export const engineQueueSeconds = new client.Histogram({
  name: 'aws_sql_bridge_engine_queue_wait_seconds',
  help: 'Time a statement waited for a free engine (--engines)',
  buckets,
  registers: [registry],
});
export const connections = new client.Counter({
  name: 'aws_sql_bridge_connections_total',
  help:
    'Client connections by how startup ended: ok (authenticated), bad_password, timeout (authentication timeout), ' +
    'refused (a connection limit), cancel_request, gone (the client left), failed (another startup error)',
  labelNames: ['outcome'] as const,
  registers: [registry],
});
export const openSessions = new client.Gauge({
  name: 'aws_sql_bridge_sessions_open',
  help: 'Sessions connected now (past authentication)',
  registers: [registry],
});

const updates: (() => void)[] = [];

function runUpdates(): void {
  for (const update of updates.splice(0)) update();
}

/**
 * A metric update made once the answer it counts is written: prom-client hashes the labels of every inc() and
 * observe() (a few microseconds each, about 7 a point read), which the client need not wait for. They run in the
 * event loop's check phase, after the I/O callback that wrote the answer and before any other I/O, so a scrape
 * (or a statement) that follows the answer sees them.
 */
export function later(update: () => void): void {
  if (updates.push(update) === 1) setImmediate(runUpdates);
}

/** The outcome label of a statement that failed: canceled for 57014, else error. */
export function failedOutcome(err: unknown): string {
  return (err as { code?: string }).code === '57014' ? 'canceled' : 'error';
}

/**
 * `/metrics` (Prometheus text), `/healthz` (200 while the process serves HTTP) and `/readyz` (200 when
 * `notReady()` gives no reason; else 503 with the reason as the body).
 */
export async function startMetricsServer(
  host: string,
  port: number,
  notReady: () => Promise<string | undefined>,
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
      notReady().then(
        (reason) =>
          res
            .writeHead(reason ? 503 : 200, { 'content-type': 'text/plain' })
            .end(reason ? `not ready: ${reason}\n` : 'ready\n'),
        () => res.writeHead(503, { 'content-type': 'text/plain' }).end('not ready\n'),
      );
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
