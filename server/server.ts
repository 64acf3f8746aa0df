import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import type { Logger } from 'pino';
import { catalogDdl, selectCatalog } from '../catalog/index.js';
import { catalogKey } from './catalog-key.js';
import { startAccounts } from './cloudcontrol/start-accounts.js';
import { RedisBudget } from './cloudcontrol/budget.js';
import { CloudControl } from './cloudcontrol/client.js';
import { credentialsCheck } from './cloudcontrol/credentials-check.js';
import { inFlightWrites } from './cloudcontrol/in-flight.js';
import { SharedReadCache } from './cloudcontrol/shared-cache.js';
import * as metrics from './metrics.js';
import type { ServerConfig } from './config.js';
import { isLoopback } from './config.js';
import { EnginePool, type EngineLike } from './engine/pool.js';
import { PgError, SqlState } from './errors.js';
import { loadParser } from './plan/parse.js';
import type { Services } from './session/executor.js';
import { answersOf, readVolatileNames } from './session/result-cache.js';
import { Session } from './session/session.js';
import { warmSessionPath } from './session/warm-up.js';
import { startupOptions } from './session/settings.js';
import { parseDataRow, splitBackendMessages } from './wire/backend-parser.js';
import * as backend from './wire/backend-serializer.js';
import { acceptConnection, type WireOptions } from './wire/connection.js';
import { clientEncodingName } from './wire/encoding.js';
import { serializeFrontend } from './wire/frontend-serializer.js';

/** ParameterStatus names PostgreSQL reports at startup, with the case it reports them in. */
const reportedParameters = [
  'application_name',
  'client_encoding',
  'DateStyle',
  'default_transaction_read_only',
  'in_hot_standby',
  'integer_datetimes',
  'IntervalStyle',
  'is_superuser',
  'scram_iterations',
  'server_encoding',
  'server_version',
  'session_authorization',
  'standard_conforming_strings',
  'TimeZone',
];

/** Startup packet keys that are not settings. */
const notSettings = new Set(['user', 'database', 'options', 'replication']);

export interface RunningServer {
  port: number;
  /** The port of /metrics, /healthz and /readyz with --metrics-port. */
  metricsPort?: number;
  close(): Promise<void>;
  /**
   * Graceful shutdown: stops accepting; lets running statements finish for up to `timeoutMs`, ending each
   * session with FATAL 57P01 once its statement is done; then logs every write request still in flight (its
   * RequestToken) and stops what still runs; then closes the engines.
   */
  shutdown(timeoutMs: number): Promise<void>;
}

export async function startServer(
  config: ServerConfig,
  logger: Logger,
  endpoint?: string,
): Promise<RunningServer> {
  if (config.auth.method === 'trust' && !isLoopback(config.host))
    throw new Error(
      `refusing to listen on ${config.host} without a password: set PGBRIDGE_PASSWORD (or --password) or listen on 127.0.0.1`,
    );
  if (config.auth.method === 'trust')
    logger.warn(
      'no password configured: any local user can connect (trust); set PGBRIDGE_PASSWORD (or --password) to require one',
    );
  if (config.auth.method === 'password' && !config.tls)
    logger.warn(
      '--auth password sends each password in cleartext and no TLS is configured: give --tls-cert and --tls-key, or use --auth scram-sha-256',
    );

  await loadParser();
  // Before the engines start: a wrong --cache URL stops the start with nothing left running.
  // ioredis is loaded only with --cache: every start would pay for it otherwise.
  const redis =
    config.cacheUrl === undefined
      ? undefined
      : await (await import('./cloudcontrol/redis.js')).connectRedis(config.cacheUrl);
  // DescribeType goes where Cloud Control calls go: --endpoint (the emulator answers both) or the SDK's own.
  const extraTypes =
    config.extraTypes.length === 0
      ? []
      : await (
          await import('../catalog/registry/extra-types.js')
        ).loadExtraTypes(config.extraTypes, {
          region: config.regions[0],
          endpoint: endpoint ?? config.endpoint,
        });
  const stsEndpoint = config.stsEndpoint ?? (process.env.AWS_ENDPOINT_URL_STS ? undefined : endpoint);
  // The organization's members and `regions: all`, resolved before the engines start and any read.
  const discoveryEndpoint = (variable: string) =>
    process.env[variable] ? undefined : (endpoint ?? config.endpoint);
  const started =
    config.accounts &&
    (await startAccounts(
      config.accounts,
      config.organization,
      config.regions,
      {
        sts: stsEndpoint,
        account: discoveryEndpoint('AWS_ENDPOINT_URL_ACCOUNT'),
        organizations: discoveryEndpoint('AWS_ENDPOINT_URL_ORGANIZATIONS'),
      },
      logger,
    ));
  const catalog = selectCatalog(config.types, extraTypes);
  const pool = await EnginePool.start({
    // Made only if the template is not cached yet (found by what the DDL is made from), while the threads start.
    ddl: () => catalogDdl(catalog),
    templateKey: catalogKey(config.types, extraTypes),
    // The tables' names while the engines open (the snapshot read, 0.1 to 0.2 s): a statement's first lookup needs
    // them. Each type is built when a statement first names it (catalog/index.ts, lazyCatalog).
    onOpening: () => void catalog.tablesNamed(''),
    engines: config.engines,
    logger,
  });
  const engine: EngineLike = pool;
  // Which statements may run as plain units (session/result-cache.ts) is known from the first statement on.
  const volatileNamesRead = pool.warmedUp.then(() => readVolatileNames(pool));
  const cloud = new CloudControl(
    {
      endpoint: endpoint ?? config.endpoint,
      defaultRegions: config.regions,
      ...(started ? { accounts: started.accounts } : {}),
      ...(stsEndpoint ? { stsEndpoint } : {}),
      maxConcurrency: config.maxConcurrency,
      cacheTtlMs: config.cacheTtlMs,
      ...(redis ? { sharedCache: new SharedReadCache(redis, config.cacheTtlMs, logger) } : {}),
      ...(config.callBudget === undefined
        ? {}
        : {
            callBudget: config.callBudget,
            ...(redis ? { budget: new RedisBudget(redis, config.callBudget, logger) } : {}),
          }),
    },
    catalog,
    logger,
  );
  const services: Services = {
    catalog,
    engine,
    cloud,
    logger,
    defaultRegions: config.regions,
    readOnly: config.readOnly,
    sessionRows: () => [...sessions.values()].map((s) => s.session.activity()),
    ...(started?.members ? { members: started.members } : {}),
  };
  started?.members?.follow((accounts, changed) => {
    cloud.replaceAccounts(accounts);
    // Kept answers were computed over the old accounts (one that joined has no entry to make them stale).
    if (changed) answersOf(cloud).clear();
  }, config.organization?.refreshMs ?? 0);
  const defaults = await engineDefaults(engine);
  const sessions = new Map<number, { secretKey: number; session: Session; done: Promise<void> }>();
  const sockets = new Set<net.Socket>();
  let stopping = false;
  /** Sockets still in startup or authentication, and connections admitted (past the StartupMessage). */
  let starting = 0;
  let admitted = 0;

  const wire: WireOptions = {
    auth: config.auth,
    tls: config.tls && {
      cert: fs.readFileSync(config.tls.certFile),
      key: fs.readFileSync(config.tls.keyFile),
    },
    // `postgres` is where psql (as user postgres), pgcli -l, DBeaver and pgAdmin connect first: it serves the same
    // tables as `aws`, as every database of the engine would, rather than refusing them.
    databases: ['aws', 'postgres'],
    serverParameters: (startup) => {
      const params: Record<string, string> = { ...defaults, session_authorization: startup.user ?? '' };
      for (const name of reportedParameters) {
        const given = startup[name] ?? startup[name.toLowerCase()];
        if (given !== undefined) params[name] = name === 'DateStyle' ? normalizeDateStyle(given) : given;
      }
      return params;
    },
    newBackendKey: () => {
      let processId: number;
      do processId = randomInt(1, 2 ** 31 - 1);
      while (sessions.has(processId));
      return { processId, secretKey: randomInt(0, 2 ** 31 - 1) };
    },
    onCancelRequest: (processId, secretKey) => {
      const entry = sessions.get(processId);
      if (entry && entry.secretKey === secretKey) entry.session.cancel();
    },
    onStartupEnd: (outcome) => metrics.connections.inc({ outcome }),
    startupTimeoutMs: config.authenticationTimeoutMs,
    maxMessageBytes: config.maxMessageBytes,
    logger,
  };
  const tooManyClients = (detail: string) =>
    new PgError(SqlState.too_many_connections, 'sorry, too many clients already', {
      severity: 'FATAL',
      detail,
      hint: 'Close idle connections (or use a connection pool), or start the server with a higher --max-connections.',
    });

  const server = net.createServer((socket) => {
    const from = socket.remoteAddress ?? '';
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    if (starting >= config.maxStartupConnections) {
      // Refused before reading anything, so a flood of silent sockets cannot hold file descriptors.
      logger.warn(
        { from, starting, limit: config.maxStartupConnections },
        'connection refused: too many connections starting up',
      );
      socket.on('error', () => {});
      metrics.connections.inc({ outcome: 'refused' });
      const refusal = tooManyClients(
        `${starting} connections are still starting up or authenticating (--max-startup-connections ${config.maxStartupConnections}).`,
      );
      socket.end(backend.errorResponse({ ...backend.errorFieldsOf(refusal), severity: 'FATAL' }));
      setTimeout(() => socket.destroy(), 5000).unref();
      return;
    }
    starting++;
    let counted = false;
    const admit = (): PgError | undefined => {
      // As max_connections, checked once the StartupMessage is in (so CancelRequests still get through).
      if (admitted >= config.maxConnections)
        return tooManyClients(
          `${admitted} clients are connected (--max-connections ${config.maxConnections}).`,
        );
      admitted++;
      counted = true;
      return undefined;
    };
    socket.once('close', () => {
      if (counted) admitted--;
      counted = false;
    });
    void (async () => {
      const connection = await acceptConnection(socket, { ...wire, admit }).finally(() => starting--);
      if (!connection) return;
      // PGlite starts with search_path 'public'; PostgreSQL's default is what clients expect to see.
      const settings = new Map<string, string>([['search_path', '"$user", public']]);
      for (const [name, value] of Object.entries(connection.startupParameters))
        if (!notSettings.has(name)) settings.set(name.toLowerCase(), value);
      for (const [name, value] of startupOptions(connection.startupParameters.options))
        settings.set(name, value);
      const encoding = settings.get('client_encoding');
      if (encoding !== undefined) {
        // A `-c client_encoding=...` option: the StartupMessage's own value was checked during startup.
        try {
          settings.set('client_encoding', clientEncodingName(encoding));
        } catch {
          settings.delete('client_encoding');
        }
      }
      const session = new Session(connection, services, settings);
      let ended!: () => void;
      const done = new Promise<void>((resolve) => (ended = resolve));
      sessions.set(connection.processId, { secretKey: connection.secretKey, session, done });
      metrics.openSessions.inc();
      // Admitted while the server was shutting down: told so at once.
      if (stopping) session.shutdown();
      // A client that is gone gets no answer: stop its work now rather than hold an engine for nobody.
      socket.once('close', () => session.abandon());
      const { user, application_name } = connection.startupParameters;
      logger.info(
        { session: connection.processId, user, application_name, from: connection.remoteAddress },
        'connected',
      );
      try {
        await session.run();
      } finally {
        ended();
        metrics.openSessions.dec();
        sessions.delete(connection.processId);
        logger.info({ session: connection.processId }, 'disconnected');
      }
    })().catch((err: unknown) => {
      logger.error({ err }, 'connection failed');
      socket.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, resolve);
  });
  const port = (server.address() as net.AddressInfo).port;
  // Once the engines are warm: this thread's own code on a client's catalog statements (session/warm-up.ts).
  const warmUpStop = new AbortController();
  void volatileNamesRead
    .then(async () => {
      if (warmUpStop.signal.aborted) return;
      const started = performance.now();
      const { ran, gaveWay, failed } = await warmSessionPath(services, pool, {
        clientsLastActive: () => Math.max(0, ...[...sessions.values()].map((s) => s.session.lastActive)),
        signal: warmUpStop.signal,
      });
      logger.info(
        { ms: Math.round(performance.now() - started), statements: ran, gaveWay, failed },
        'session path: warmed up',
      );
    })
    .catch((err: unknown) => logger.warn({ err }, 'session path: warm-up failed'));
  // The demo signs with example keys for its own emulator: only a real chain is worth checking.
  const credentialsProblem = config.demo
    ? undefined
    : credentialsCheck(() => cloud.client(config.regions[0]!));
  const notReady = async (): Promise<string | undefined> => {
    if (stopping) return 'shutting down';
    if (!pool.stats.perEngine.some((e) => e.state !== 'down' && e.state !== 'closed'))
      return 'no engine is open (see the log for why they failed to start)';
    return credentialsProblem?.();
  };
  const metricsServer =
    config.metricsPort === undefined
      ? undefined
      : await metrics.startMetricsServer(config.host, config.metricsPort, notReady);
  /** Resolves true once every session has ended, false when `ms` pass first. */
  const sessionsEnd = async (ms: number): Promise<boolean> => {
    let timer: NodeJS.Timeout | undefined;
    const all = Promise.all([...sessions.values()].map((s) => s.done)).then(() => true);
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    try {
      return await Promise.race([all, late]);
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    port,
    ...(metricsServer ? { metricsPort: metricsServer.port } : {}),
    shutdown: async (timeoutMs) => {
      stopping = true;
      warmUpStop.abort();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const busy = [...sessions.values()].filter((s) => s.session.busy).length;
      logger.info(
        { sessions: sessions.size, running: busy, timeoutMs },
        'shutting down: no new connections; running statements may finish',
      );
      for (const { session } of sessions.values()) session.shutdown();
      if (!(await sessionsEnd(timeoutMs))) {
        for (const w of inFlightWrites)
          logger.warn(
            {
              operation: w.request.operation,
              typeName: w.typeName,
              region: w.request.region,
              identifier: w.request.identifier,
              requestToken: w.requestToken,
              clientToken: w.clientToken,
            },
            w.requestToken
              ? `write still in flight at shutdown: follow it with GetResourceRequestStatus (request ${w.requestToken})`
              : 'write still being sent at shutdown: Cloud Control may run it (find it with ListResourceRequests)',
          );
        logger.warn(
          { sessions: sessions.size },
          'shutdown deadline passed: terminating sessions (--shutdown-timeout)',
        );
        for (const { session } of sessions.values()) session.shutdown(true);
        await sessionsEnd(5000);
      }
      // Sockets still starting up (or whose session would not end) go without a word.
      for (const socket of sockets) socket.destroy();
      await closed;
      started?.members?.stop();
      cloud.destroy();
      redis?.disconnect();
      await engine.close();
      await metricsServer?.close();
      logger.info('shut down');
    },
    close: async () => {
      warmUpStop.abort();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await metricsServer?.close();
      started?.members?.stop();
      cloud.destroy();
      redis?.disconnect();
      await engine.close();
    },
  };
}

/** The engine's own values of the reported parameters, so ParameterStatus says what the engine runs. */
async function engineDefaults(engine: EngineLike): Promise<Record<string, string>> {
  const names = reportedParameters.map((n) => `'${n}'`).join(',');
  const bytes = await engine.run({
    settings: [],
    load: [],
    messages: serializeFrontend({
      type: 'Query',
      sql: `SELECT name, current_setting(name) FROM unnest(ARRAY[${names}]) AS name`,
    }),
  });
  const out: Record<string, string> = {};
  for (const frame of splitBackendMessages(bytes)) {
    if (frame.code !== 'D') continue;
    const [name, value] = parseDataRow(frame.payload).map((v) => v?.toString('utf8') ?? '');
    out[name!] = value!;
  }
  out.is_superuser = 'off';
  out.server_version = engine.serverVersion;
  return out;
}

/** PostgreSQL completes a partial DateStyle ('ISO') with the default order ('ISO, MDY'). */
function normalizeDateStyle(value: string): string {
  return value.includes(',') ? value : `${value}, MDY`;
}
