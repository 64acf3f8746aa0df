import { setTimeout as sleep } from 'node:timers/promises';
import { once } from 'node:events';
import net from 'node:net';
import type { EngineLike, EngineUnit } from '../engine/engine.js';
import { firstError, firstValue, lastReadyStatus } from '../engine/frames.js';
import { warmTablesSql, warmUpStatements, type WarmTable } from '../engine/warm-up.js';
import { PgError, SqlState } from '../errors.js';
import { Connection } from '../wire/connection.js';
import * as frontend from '../wire/frontend-serializer.js';
import { SocketReader } from '../wire/startup.js';
import { privateAnswers, shareVolatileNames } from './result-cache.js';
import type { Services } from './executor.js';
import { Session } from './session.js';

/*
 * The engines' warm-up (engine/warm-up.ts) leaves PGlite's code optimized; this one does the same for this thread's
 * own code on the path of a client's catalog statement: the socket and the message loop, the parser and planner
 * walks, the literal templates, the executor and the result cache, the engine's answer turned into the client's. V8
 * compiles and optimizes that code the first time it runs hot, on the same 2 cores the client's first statements
 * need: measured, SQLAlchemy's first reflection of ec2 took 0.83 to 1.26 s as a fresh bridge's first client, 0.71 s
 * after another client had run.
 *
 * It runs the engines' warm-up statements as the clients send them (psql, pgjdbc, psycopg2's transaction block)
 * through a Session of its own, on a loopback TCP connection the server makes to itself (so the stream code learns
 * the sockets the clients' sessions use). No client sees it: it is not one of the server's sessions (so not in
 * cloud_control.sessions or pg_stat_activity), its statements are not in the metrics, its kept answers are its own,
 * and its units run only when the first engine has nothing else to do (EnginePool.runWhenIdle). Its next statement
 * waits until no client ran one for CLIENTS_QUIET_MS.
 */

/** What the warm-up runs its units on: the pool, when idle. */
export interface IdleEngine extends EngineLike {
  runWhenIdle(unit: EngineUnit): Promise<Buffer | undefined>;
}

export interface SessionWarmUpOptions {
  /** When a client last ran a statement (ms since the epoch; now while one runs), 0 if none. */
  clientsLastActive(): number;
  /** Aborted when the server stops. */
  signal: AbortSignal;
}

export interface SessionWarmUpCounts {
  /** Statements answered (failed among them). */
  ran: number;
  /** Statements that gave way to a client's unit (each is tried once more). */
  gaveWay: number;
  /** Statements answered with an error: none is expected (a failed statement warms little). */
  failed: number;
}

const gaveWay = () => new PgError(SqlState.query_canceled, 'the warm-up gave way to a client');

/** Connecting over loopback takes well under a millisecond: past this, something is wrong and the warm-up is skipped. */
const CONNECT_TIMEOUT_MS = 5000;

/**
 * The warm-up's next statement waits until no client ran one for this long: a client's statements come in bursts
 * (a dashboard's, a driver's catalog calls), and each warm-up statement takes this thread for about a millisecond.
 */
const CLIENTS_QUIET_MS = 100;

/** How long the warm-up waits before it looks again whether the clients are quiet. */
const CLIENT_POLL_MS = 20;

/**
 * SQLAlchemy's per-table statements run over this many tables (the engines' warm-up: 24). V8 optimizes this
 * thread's larger functions only after a few hundred statements: over 24 tables a fresh bridge's first client's
 * first 190 catalog statements (psycopg2, ec2's tables) took 1.26 to 2.07 ms each, with V8 compiling 260 to 390 ms
 * of CPU meanwhile; over 120 (about 280 statements, 0.3-0.5 s more after each start) 0.92 to 1.27 ms, and 140 to 160.
 */
const TABLES = 120;

export async function warmSessionPath(
  services: Services,
  engine: IdleEngine,
  options: SessionWarmUpOptions,
): Promise<SessionWarmUpCounts> {
  const counts = { ran: 0, gaveWay: 0, failed: 0 };
  const { signal } = options;
  const [serverEnd, clientEnd] = await loopbackPair();
  const replies = new SocketReader();
  replies.attach(clientEnd);
  const connection = new Connection(
    {
      stream: serverEnd,
      tls: false,
      startupParameters: { user: 'aws_sql_bridge_warm_up', database: 'aws' },
      processId: 0,
      secretKey: 0,
      rest: Buffer.alloc(0),
      inputEnded: false,
    },
    '',
  );
  const settings = new Map([['search_path', '"$user", public']]);
  const idle: EngineLike = {
    serverVersion: engine.serverVersion,
    run: async (unit: EngineUnit) => (await engine.runWhenIdle(unit)) ?? Promise.reject(gaveWay()),
    cancel: () => {},
    close: async () => {},
  };
  // Its units decide which statements are plain from the pool's volatile names, as the clients' do.
  shareVolatileNames(idle, engine);
  const session = new Session(
    connection,
    {
      ...services,
      engine: idle,
      answers: privateAnswers(),
      logger: services.logger.child({ warmUp: true }, { level: 'warn' }),
    },
    settings,
    false,
  );
  const running = session.run();
  const exchange = (messages: Buffer): Promise<Buffer | null> => {
    clientEnd.write(messages);
    return nextReply(replies);
  };
  /** Runs a statement as a simple Query (psql, psycopg2) or, `extended`, as pgjdbc and node-postgres do. */
  const query = async (sql: string, extended = false, attempts = 2): Promise<Buffer | undefined> => {
    for (let attempt = 0; attempt < attempts; attempt++) {
      while (Date.now() - options.clientsLastActive() < CLIENTS_QUIET_MS && !signal.aborted)
        await sleep(CLIENT_POLL_MS);
      if (signal.aborted) return undefined;
      const reply = await exchange(extended ? extendedQuery(sql) : frontend.query(sql));
      if (!reply) return undefined;
      const error = firstError(reply);
      if (error?.code !== SqlState.query_canceled) {
        counts.ran++;
        if (error) counts.failed++;
        return reply;
      }
      counts.gaveWay++;
      // Inside a transaction block the interruption failed the block, as it would a client's: a new one.
      if (lastReadyStatus(reply) === 'E' && !(await exchange(frontend.query('ROLLBACK; BEGIN'))))
        return undefined;
    }
    return undefined;
  };
  try {
    if (!(await nextReply(replies))) return counts;
    // Tried until answered, as the engines' look-up is: without the tables there is nothing to warm.
    const found = await query(warmTablesSql(TABLES), false, Infinity);
    const json = found && firstValue(found);
    const tables = json ? (JSON.parse(json) as WarmTable[]) : [];
    // The extended protocol's path on one table's statements first; the simple Query's last, so that the engine's
    // warm-up ends as it did, with SQLAlchemy's per-table statements prepared (engine/warm-up.ts).
    const extended = warmUpStatements(tables.slice(0, 1), false).map((sql) => [sql, true] as const);
    // As psycopg2 sends them (SQLAlchemy's reflection), in a transaction block.
    const simple = ['BEGIN', ...warmUpStatements(tables), 'ROLLBACK'].map((sql) => [sql, false] as const);
    for (const [sql, asExtended] of [...extended, ...simple]) {
      await query(sql, asExtended);
      if (signal.aborted) break;
    }
  } finally {
    clientEnd.end(frontend.terminate());
    await running.catch(() => {});
    clientEnd.destroy();
  }
  return counts;
}

/**
 * The two ends of a TCP connection over loopback, made as a client's is (no listener is left open): the warm-up's
 * session then trains the stream code on the sockets the clients' sessions use.
 */
async function loopbackPair(): Promise<[server: net.Socket, client: net.Socket]> {
  const listener = net.createServer();
  const accepted: net.Socket[] = [];
  let arrived = () => {};
  listener.on('connection', (socket) => {
    accepted.push(socket);
    arrived();
  });
  try {
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(0, '127.0.0.1', resolve);
    });
    const client = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1');
    await once(client, 'connect', { signal: AbortSignal.timeout(CONNECT_TIMEOUT_MS) });
    // Only its own connection: another local process could connect to the port meanwhile.
    const own = () => accepted.find((s) => s.remotePort === client.localPort);
    while (!own()) await new Promise<void>((resolve) => (arrived = resolve));
    const server = own()!;
    for (const socket of accepted) if (socket !== server) socket.destroy();
    server.setNoDelay(true);
    client.setNoDelay(true);
    return [server, client];
  } finally {
    listener.close();
  }
}

/** The unnamed statement and portal, text results: what a driver sends for a statement without parameters. */
function extendedQuery(sql: string): Buffer {
  return Buffer.concat([
    frontend.parse({ statement: '', sql, paramTypes: [] }),
    frontend.bind({ portal: '', statement: '', paramFormats: [], params: [], resultFormats: [] }),
    frontend.describe('P'),
    frontend.execute(),
    frontend.sync(),
  ]);
}

/** The server's next answer, up to and with its ReadyForQuery; null once the connection is gone. */
async function nextReply(reader: SocketReader): Promise<Buffer | null> {
  const frames: Buffer[] = [];
  for (;;) {
    const header = await reader.read(5);
    const body = header && (await reader.read(header.readUInt32BE(1) - 4));
    if (!header || !body) return null;
    frames.push(header, body);
    if (header[0] === 0x5a /* Z */) return Buffer.concat(frames);
  }
}
