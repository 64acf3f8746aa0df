import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import * as backend from '../server/wire/backend-serializer.js';
import { parseErrorFields, splitBackendMessages, type BackendFrame } from '../server/wire/backend-parser.js';
import { acceptConnection, type Connection, type WireOptions } from '../server/wire/connection.js';
import * as frontend from '../server/wire/frontend-serializer.js';
import type { FrontendMessage } from '../server/wire/messages.js';
import { psqlAsync } from './support/psql.js';

interface TestServer {
  port: number;
  /** Every acceptConnection outcome, in order. */
  accepted: Promise<Connection | null>[];
  /** Messages each session received, by processId. */
  received: Map<number, FrontendMessage[]>;
  cancels: [number, number][];
  close(): Promise<void>;
}

let nextPid = 1000;
const textColumn = {
  name: '',
  tableOid: 0,
  columnAttr: 0,
  typeOid: 23,
  typeSize: 4,
  typeModifier: -1,
  format: 0,
};

/** A tiny server: the real startup, then ReadyForQuery and canned answers, just enough for pg and psql. */
async function startServer(overrides: Partial<WireOptions> = {}): Promise<TestServer> {
  const accepted: Promise<Connection | null>[] = [];
  const received = new Map<number, FrontendMessage[]>();
  const cancels: [number, number][] = [];
  const options: WireOptions = {
    auth: { method: 'trust', users: {} },
    databases: ['aws'],
    serverParameters: (startup) => ({
      server_version: '16.0',
      server_encoding: 'UTF8',
      client_encoding: startup.client_encoding ?? 'UTF8',
      DateStyle: 'ISO, MDY',
      integer_datetimes: 'on',
      standard_conforming_strings: 'on',
    }),
    newBackendKey: () => ({ processId: ++nextPid, secretKey: 0x7eadbeef }),
    onCancelRequest: (processId, secretKey) => cancels.push([processId, secretKey]),
    ...overrides,
  };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const outcome = acceptConnection(socket, options);
    accepted.push(outcome);
    void outcome.then(async (conn) => {
      if (!conn) return;
      const log: FrontendMessage[] = [];
      received.set(conn.processId, log);
      conn.send(backend.readyForQuery('I'));
      conn.flush();
      for await (const m of conn.messages()) {
        log.push(m);
        switch (m.type) {
          case 'Query':
            if (m.sql === 'big') {
              // Streams with backpressure, as the session does for large results.
              conn.send(
                backend.rowDescription([{ ...textColumn, name: 'payload', typeOid: 25, typeSize: -1 }]),
              );
              for (let i = 0; i < 20000; i++) {
                conn.send(backend.dataRow([`${i}:`.padEnd(1000, 'x')]));
                if (i % 500 === 0) {
                  conn.flush();
                  await conn.drained();
                }
              }
              conn.send(backend.commandComplete('SELECT 20000'));
              conn.send(backend.readyForQuery('I'));
              conn.flush();
              break;
            }
            conn.send(backend.rowDescription([{ ...textColumn, name: 'one' }]));
            conn.send(backend.dataRow(['1']));
            conn.send(backend.commandComplete('SELECT 1'));
            conn.send(backend.readyForQuery('I'));
            conn.flush();
            break;
          case 'Parse':
            conn.send(backend.parseComplete());
            break;
          case 'Bind':
            conn.send(backend.bindComplete());
            break;
          case 'Describe':
            conn.send(backend.noData());
            break;
          case 'Execute':
            conn.send(backend.commandComplete('SELECT 0'));
            break;
          case 'Sync':
            conn.send(backend.readyForQuery('I'));
            conn.flush();
            break;
        }
      }
      conn.close();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted,
    received,
    cancels,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Runs `run` against a fresh server, closed afterwards whatever happens. */
async function withServer(
  overrides: Partial<WireOptions>,
  run: (server: TestServer) => Promise<void>,
): Promise<void> {
  const server = await startServer(overrides);
  try {
    await run(server);
  } finally {
    await server.close();
  }
}

async function connectPg(port: number, config: pg.ClientConfig = {}): Promise<pg.Client> {
  const client = new pg.Client({ host: '127.0.0.1', port, database: 'aws', user: 'alice', ...config });
  await client.connect();
  return client;
}

async function expectPgError(port: number, config: pg.ClientConfig, code: string): Promise<void> {
  const client = new pg.Client({ host: '127.0.0.1', port, database: 'aws', user: 'alice', ...config });
  client.on('error', () => {});
  await expect(client.connect()).rejects.toMatchObject({ code });
  await client.end().catch(() => {});
}

/** A raw protocol client: bytes in, backend frames out. */
class RawClient {
  readonly socket: net.Socket;
  private data = Buffer.alloc(0);
  closed: Promise<void>;
  private waiters: (() => void)[] = [];

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.on('error', () => {});
    this.socket.on('data', (chunk: Buffer) => {
      this.data = Buffer.concat([this.data, chunk]);
      for (const w of this.waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) => this.socket.on('close', () => resolve()));
    void this.closed.then(() => {
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Connected, nothing sent yet. */
  static async open(port: number): Promise<RawClient> {
    const raw = new RawClient(port);
    await new Promise((resolve) => raw.socket.once('connect', resolve));
    return raw;
  }

  /** The single-byte answer to SSLRequest / GSSENCRequest. */
  async byte(): Promise<string> {
    while (this.data.length < 1) await new Promise<void>((r) => this.waiters.push(r));
    const b = String.fromCharCode(this.data[0]!);
    this.data = this.data.subarray(1);
    return b;
  }

  /** Complete frames received so far, waiting until one of type `code` has arrived or the socket closes. */
  async until(code: string): Promise<BackendFrame[]> {
    for (;;) {
      const frames = splitBackendMessages(this.data.subarray(0, completeLength(this.data)));
      if (frames.some((f) => f.code === code) || this.socket.destroyed) return frames;
      await Promise.race([new Promise<void>((r) => this.waiters.push(r)), this.closed]);
    }
  }
}

function completeLength(buf: Buffer): number {
  let offset = 0;
  while (buf.length - offset >= 5) {
    const end = offset + 1 + buf.readUInt32BE(offset + 1);
    if (end > buf.length) break;
    offset = end;
  }
  return offset;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('startup and authentication with the real pg client', () => {
  const users = { alice: 's3cret', bob: 'pässwörd ✓' };

  test.each(['scram-sha-256', 'md5', 'password'] as const)(
    '%s: right password connects, wrong is 28P01',
    async (method) => {
      await withServer({ auth: { method, users } }, async (server) => {
        const client = await connectPg(server.port, { password: 's3cret', application_name: 'jest' });
        const result = await client.query('select 1');
        expect(result.rows).toEqual([{ one: 1 }]);
        // The extended protocol through our parser: Parse/Bind/Describe/Execute/Sync.
        const ext = await client.query('select $1::int', [42]);
        expect(ext.rowCount).toBe(0);
        await client.end();

        const conn = await server.accepted[0]!;
        expect(conn).not.toBeNull();
        expect(conn!.startupParameters).toMatchObject({
          user: 'alice',
          database: 'aws',
          application_name: 'jest',
        });
        expect(conn!.remoteAddress).toBe('127.0.0.1');
        const log = server.received.get(conn!.processId)!;
        expect(log.map((m) => m.type)).toEqual([
          'Query',
          'Parse',
          'Bind',
          'Describe',
          'Execute',
          'Sync',
          'Terminate',
        ]);
        expect(log[2]).toMatchObject({ type: 'Bind', params: [Buffer.from('42')] });

        await expectPgError(server.port, { password: 'wrong' }, '28P01');
        await expectPgError(server.port, { user: 'nobody', password: 'x' }, '28P01');
        await expectPgError(server.port, { password: 's3cret', database: 'postgres' }, '3D000');
        expect(await server.accepted[1]).toBeNull();

        const bob = await connectPg(server.port, { user: 'bob', password: users.bob });
        await bob.end();
      });
    },
  );

  test('a 20 MB result streams with backpressure and a 4 MB parameter arrives whole', async () => {
    await withServer({}, async (server) => {
      const client = await connectPg(server.port);
      const big = await client.query('big');
      expect(big.rows).toHaveLength(20000);
      expect(big.rows[19999].payload).toBe('19999:'.padEnd(1000, 'x'));
      const param = 'p'.repeat(4 * 1024 * 1024);
      await client.query('select $1', [param]);
      await client.end();
      const conn = (await server.accepted[0])!;
      const bind = server.received.get(conn.processId)!.find((m) => m.type === 'Bind');
      expect(bind).toMatchObject({ type: 'Bind', params: [Buffer.from(param)] });
    });
  });

  test('trust admits any user', async () => {
    await withServer({}, async (server) => {
      const client = await connectPg(server.port, { user: 'whoever' });
      expect((await client.query('select 1')).rows).toEqual([{ one: 1 }]);
      await client.end();
    });
  });

  test('the FATAL for a wrong password names the user and never the password', async () => {
    await withServer({ auth: { method: 'password', users } }, async (server) => {
      const raw = await RawClient.open(server.port);
      raw.socket.write(frontend.startupMessage({ user: 'alice', database: 'aws' }));
      await raw.until('R');
      raw.socket.write(frontend.passwordMessage('hunter2'));
      const frames = await raw.until('E');
      const error = parseErrorFields(frames.find((f) => f.code === 'E')!.payload);
      expect(error).toMatchObject({
        severity: 'FATAL',
        code: '28P01',
        message: 'password authentication failed for user "alice"',
      });
      expect(JSON.stringify(error)).not.toContain('hunter2');
      await raw.closed;
    });
  });
});

describe('SSL', () => {
  let dir: string;
  let tlsFiles: { key: Buffer; cert: Buffer };

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wire-tls-'));
    const [k, c] = [path.join(dir, 'k'), path.join(dir, 'c')];
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1'].concat([
        '-keyout',
        k,
        '-out',
        c,
      ]),
      {
        stdio: 'ignore',
      },
    );
    tlsFiles = { key: fs.readFileSync(k), cert: fs.readFileSync(c) };
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('pg with ssl upgrades to TLS and authenticates with SCRAM', async () => {
    await withServer(
      {
        tls: tlsFiles,
        auth: { method: 'scram-sha-256', users: { alice: 'pw' } },
      },
      async (server) => {
        const client = await connectPg(server.port, { password: 'pw', ssl: { rejectUnauthorized: false } });
        expect((await client.query('select 1')).rows).toEqual([{ one: 1 }]);
        await client.end();
        expect((await server.accepted[0])!.tls).toBe(true);
      },
    );
  });

  test('psql sslmode=require over TLS', async () => {
    await withServer(
      {
        tls: tlsFiles,
        auth: { method: 'scram-sha-256', users: { u: 'pw' } },
      },
      async (server) => {
        const out = await selectOne(server.port, 'require', 'pw');
        expect(out.status).toBe(0);
        expect(out.stdout).toBe('1\n');
        expect((await server.accepted.at(-1))!.tls).toBe(true);
      },
    );
  });

  test('unencrypted bytes pipelined after SSLRequest are refused (CVE-2021-23214)', async () => {
    await withServer({ tls: tlsFiles }, async (server) => {
      const raw = await RawClient.open(server.port);
      raw.socket.write(Buffer.concat([frontend.sslRequest(), frontend.startupMessage({ user: 'alice' })]));
      const frames = await raw.until('E');
      expect(parseErrorFields(frames.at(-1)!.payload)).toMatchObject({ severity: 'FATAL', code: '08P01' });
      expect(await server.accepted[0]).toBeNull();
    });
  });

  test('without tls configured, SSLRequest gets N and psql sslmode=prefer continues in cleartext', async () => {
    await withServer({ auth: { method: 'scram-sha-256', users: { u: 'pw' } } }, async (server) => {
      const out = await selectOne(server.port, 'prefer', 'pw');
      expect(out.stderr).toBe('');
      expect(out.status).toBe(0);
      expect(out.stdout).toBe('1\n');

      const bad = await selectOne(server.port, 'prefer', 'nope');
      expect(bad.status).toBe(2);
      expect(bad.stderr).toContain('password authentication failed for user "u"');

      const raw = await RawClient.open(server.port);
      raw.socket.write(frontend.gssEncRequest());
      expect(await raw.byte()).toBe('N');
      raw.socket.write(frontend.sslRequest());
      expect(await raw.byte()).toBe('N');
      raw.socket.destroy();
    });
  });
});

/** psql 15 running `select 1` as user u (without blocking: the server under test runs in this process). */
const selectOne = (port: number, sslmode: string, password: string) =>
  psqlAsync({ host: '127.0.0.1', port, user: 'u', database: 'aws', password }, ['select 1'], {
    sslmode,
    tuplesOnly: true,
  });

describe('startup framing', () => {
  test('CancelRequest calls onCancelRequest with the key and closes', async () => {
    await withServer({}, async (server) => {
      const raw = await RawClient.open(server.port);
      raw.socket.write(frontend.cancelRequest(4242, -12345));
      await raw.closed;
      expect(server.cancels).toEqual([[4242, -12345]]);
      expect(await server.accepted[0]).toBeNull();
    });
  });

  test('a StartupMessage split byte by byte, then pipelined messages', async () => {
    await withServer({}, async (server) => {
      const raw = await RawClient.open(server.port);
      const startup = frontend.startupMessage({
        user: 'alice',
        database: 'aws',
        options: '-c search_path=x',
      });
      for (let i = 0; i < startup.length; i++) {
        raw.socket.write(startup.subarray(i, i + 1));
        await sleep(1);
      }
      const frames = await raw.until('Z');
      expect(frames.map((f) => f.code).join('')).toMatch(/^RS+KZ$/);
      raw.socket.write(Buffer.concat([frontend.query('select 1'), frontend.terminate()]));
      await raw.closed;
      const conn = (await server.accepted[0])!;
      expect(conn.startupParameters).toEqual({ user: 'alice', database: 'aws', options: '-c search_path=x' });
      expect(server.received.get(conn.processId)).toEqual([
        { type: 'Query', sql: 'select 1' },
        { type: 'Terminate' },
      ]);
    });
  });

  test('messages sent in the same chunk as the StartupMessage are not lost', async () => {
    await withServer({}, async (server) => {
      const raw = await RawClient.open(server.port);
      raw.socket.write(
        Buffer.concat([frontend.startupMessage({ user: 'a', database: 'aws' }), frontend.query('q')]),
      );
      const frames = await raw.until('C');
      expect(frames.map((f) => f.code).join('')).toMatch(/^RS+KZTDCZ$/);
      raw.socket.end();
    });
  });

  test('a client that sends its last message and half-closes during startup still gets answered', async () => {
    await withServer({}, async (server) => {
      const raw = await RawClient.open(server.port);
      raw.socket.end(
        Buffer.concat([frontend.startupMessage({ user: 'a', database: 'aws' }), frontend.query('q')]),
      );
      await raw.closed;
      const conn = (await server.accepted[0])!;
      expect(server.received.get(conn.processId)).toEqual([{ type: 'Query', sql: 'q' }]);
    });
  });

  test('protocol 3.1 with _pq_ options gets NegotiateProtocolVersion and continues in 3.0', async () => {
    await withServer({}, async (server) => {
      const raw = await RawClient.open(server.port);
      raw.socket.write(
        frontend.startupMessage({ user: 'a', database: 'aws', '_pq_.foo': 'x' }, (3 << 16) | 1),
      );
      const frames = await raw.until('Z');
      expect(frames[0]!.code).toBe('v');
      expect(frames[0]!.payload).toEqual(
        Buffer.from([0, 0, 0, 0, 0, 0, 0, 1, ...Buffer.from('_pq_.foo'), 0]),
      );
      expect(frames[1]!.code).toBe('R');
      expect((await server.accepted[0])!.startupParameters).toEqual({ user: 'a', database: 'aws' });
      raw.socket.destroy();
    });
  });

  test.each([
    ['protocol 2.0', frontend.startupMessage({ user: 'a' }, 2 << 16)],
    ['a startup length of 1 GB', Buffer.from([0x40, 0, 0, 0, 0, 3, 0, 0])],
    ['no user', frontend.startupMessage({ database: 'aws' })],
  ])('%s is refused with a FATAL', async (_name, packet) => {
    await withServer({}, async (server) => {
      const raw = await RawClient.open(server.port);
      raw.socket.write(packet);
      const frames = await raw.until('E');
      const error = parseErrorFields(frames.at(-1)!.payload);
      expect(error.severity).toBe('FATAL');
      expect(['08P01', '28000']).toContain(error.code);
      await raw.closed;
      expect(await server.accepted[0]).toBeNull();
    });
  });

  test('clients that vanish mid-startup resolve null without unhandled errors', async () => {
    await withServer({ auth: { method: 'scram-sha-256', users: { alice: 'pw' } } }, async (server) => {
      const half = await RawClient.open(server.port);
      half.socket.write(frontend.startupMessage({ user: 'alice', database: 'aws' }).subarray(0, 10));
      await sleep(20);
      half.socket.destroy();

      const afterChallenge = await RawClient.open(server.port);
      afterChallenge.socket.write(frontend.startupMessage({ user: 'alice', database: 'aws' }));
      await afterChallenge.until('R');
      afterChallenge.socket.resetAndDestroy();

      const silent = await RawClient.open(server.port);
      silent.socket.end();

      expect(await Promise.all(server.accepted)).toEqual([null, null, null]);
    });
  });

  test('a startup that takes too long is cut off', async () => {
    await withServer({ startupTimeoutMs: 100 }, async (server) => {
      const raw = await RawClient.open(server.port);
      raw.socket.write(Buffer.from([0, 0]));
      await raw.closed;
      expect(await server.accepted[0]).toBeNull();
    });
  });

  test('a protocol violation after startup sends FATAL 08P01 and ends messages()', async () => {
    await withServer({}, async (server) => {
      const raw = await RawClient.open(server.port);
      raw.socket.write(frontend.startupMessage({ user: 'a', database: 'aws' }));
      await raw.until('Z');
      raw.socket.write(Buffer.from([0x51, 0x7f, 0, 0, 0]));
      await raw.closed;
      const frames = await raw.until('E');
      expect(parseErrorFields(frames.at(-1)!.payload)).toMatchObject({ severity: 'FATAL', code: '08P01' });
      const conn = (await server.accepted[0])!;
      expect(conn.protocolError?.code).toBe('08P01');
    });
  });
});
