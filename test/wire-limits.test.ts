import pg from 'pg';
import * as frontend from '../server/wire/frontend-serializer.js';
import { ByteClient, errorOf } from './support/byte-client.js';
import { eventually, jsonLogLines, startBridge, startEmulator, type Started } from './support/processes.js';
import { psql } from './support/psql.js';

let emulator: Started & { endpoint: string };
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator?.stop());

const bridgeWith = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  // One engine each: these tests are about the connection, and CI runs other suites beside them.
  startBridge(['--endpoint', emulator.endpoint, '--region', 'us-east-1', '--engines', '1', ...args], env);

/** The bridge's pino lines with a given msg. */
const logLines = (bridge: Started, msg: string | RegExp) => jsonLogLines(bridge.output(), msg);

/** A statement that runs until it is cancelled. */
const endless = 'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM r) SELECT count(*) FROM r';

const client = (port: number, config: pg.ClientConfig = {}) =>
  new pg.Client({ host: '127.0.0.1', port, database: 'aws', user: 'postgres', ...config });

test('--max-connections: one more client gets FATAL 53300, logged; a freed slot admits again', async () => {
  const bridge = await bridgeWith(['--max-connections', '2']);
  const open: pg.Client[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const c = client(bridge.port);
      await c.connect();
      open.push(c);
    }
    const extra = client(bridge.port);
    extra.on('error', () => {});
    await expect(extra.connect()).rejects.toMatchObject({
      code: '53300',
      message: 'sorry, too many clients already',
    });
    await eventually('the refusal is logged', () => logLines(bridge, 'connection refused').length > 0);
    expect(logLines(bridge, 'connection refused')).toEqual([
      expect.objectContaining({ from: '127.0.0.1', user: 'postgres', code: '53300' }),
    ]);

    // A CancelRequest is not a client: while the server is full, it still stops a running statement.
    const busy = open[0]!;
    const key = busy as unknown as { processID: number; secretKey: number };
    const outcome = busy.query(endless).then(
      () => 'finished',
      (err: Error & { code?: string }) => ({ code: err.code, message: err.message }),
    );
    // A cancel that comes before the statement runs is ignored, as PostgreSQL's is: send until one lands.
    await eventually('a cancel stops the statement', async () => {
      const cancel = await ByteClient.open(bridge.port);
      cancel.send(frontend.cancelRequest(key.processID, key.secretKey));
      // The server answers a cancel by closing the socket: no refusal (53300), no frame at all.
      expect(await cancel.until('E')).toEqual([]);
      return Promise.race([
        outcome.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 500)),
      ]);
    });
    expect(await outcome).toEqual({ code: '57014', message: 'canceling statement due to user request' });
    expect((await busy.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);

    await open.pop()!.end();
    await eventually('a slot is freed', () => logLines(bridge, 'disconnected').length === 1);
    const again = client(bridge.port);
    await again.connect();
    expect((await again.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    open.push(again);
  } finally {
    for (const c of open) await c.end().catch(() => {});
    await bridge.stop();
  }
});

test('--max-startup-connections: sockets that never finish startup cannot crowd out the server', async () => {
  const bridge = await bridgeWith(['--max-startup-connections', '2', '--authentication-timeout', '600']);
  const silent: ByteClient[] = [];
  try {
    for (let i = 0; i < 2; i++) silent.push(await ByteClient.open(bridge.port));
    // The third is refused at once, before it sends anything.
    const third = await ByteClient.open(bridge.port);
    const frames = await third.until('E');
    expect(errorOf(frames)).toMatchObject({
      severity: 'FATAL',
      code: '53300',
      message: 'sorry, too many clients already',
    });
    await third.closed;
    await eventually(
      'the refusal is logged',
      () => logLines(bridge, 'connection refused: too many connections starting up').length === 1,
    );

    // Once they go, clients are admitted again (the server notices the closes asynchronously: retry a little).
    for (const s of silent) s.socket.destroy();
    for (let attempt = 0; ; attempt++) {
      const c = client(bridge.port);
      c.on('error', () => {});
      try {
        await c.connect();
        await c.end();
        break;
      } catch (err) {
        if (attempt > 50 || (err as { code?: string }).code !== '53300') throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    for (const s of silent) s.socket.destroy();
    await bridge.stop();
  }
});

test('--authentication-timeout: a client that does not finish startup gets FATAL 57014 and is logged', async () => {
  const bridge = await bridgeWith(['--authentication-timeout', '0.5'], { PGBRIDGE_PASSWORD: 'pw-7a1c' });
  try {
    const slow = await ByteClient.open(bridge.port);
    slow.send(frontend.startupMessage({ user: 'postgres', database: 'aws' }));
    // Asked for a password (SCRAM), it never answers.
    const frames = await slow.until('E');
    expect(errorOf(frames)).toMatchObject({
      severity: 'FATAL',
      code: '57014',
      message: 'canceling authentication due to timeout',
    });
    await slow.closed;
    await eventually(
      'the timeout is logged',
      () => logLines(bridge, 'connection refused: startup not finished in time').length > 0,
    );
    expect(logLines(bridge, 'connection refused: startup not finished in time')).toEqual([
      expect.objectContaining({ from: '127.0.0.1', user: 'postgres' }),
    ]);
  } finally {
    await bridge.stop();
  }
});

test('--max-message-size: a declared huge Query is refused from its header (FATAL 54000), the server goes on', async () => {
  const bridge = await bridgeWith(['--max-message-size', '1MB']);
  try {
    const c = await ByteClient.connect(bridge.port);
    // The header of a Query of just under 1 GiB, and none of its body: answered without waiting for it.
    c.send(Buffer.from([0x51, 0x3f, 0xff, 0xff, 0xff]), Buffer.from('SELECT '));
    const frames = await c.until('E');
    expect(errorOf(frames)).toMatchObject({
      severity: 'FATAL',
      code: '54000',
      message: `message of type "Q" is ${0x3fffffff} bytes, more than this server's limit of 1048576 bytes`,
    });
    await c.closed;

    // Under the limit is fine, and others are unaffected.
    const ok = client(bridge.port);
    await ok.connect();
    const big = 'x'.repeat(512 * 1024);
    expect((await ok.query('SELECT length($1::text) AS n', [big])).rows).toEqual([{ n: big.length }]);
    await ok.end();
  } finally {
    await bridge.stop();
  }
});

test('back-pressure: a client that does not read its results stops the server producing them', async () => {
  const bridge = await bridgeWith(['--log-level', 'debug']);
  try {
    const c = await ByteClient.connect(bridge.port);
    // 40 queries of about 5 MB each (200 MB in all), sent at once; then the client reads nothing.
    c.socket.pause();
    const queries = 40;
    const sql = "SELECT repeat('x', 1000) FROM generate_series(1, 5000)";
    c.send(...Array.from({ length: queries }, () => frontend.query(sql)));

    await eventually(
      'the server waits for the client to read',
      () => logLines(bridge, /^client is not reading its results/).length > 0,
    );
    // Give the server every chance to run ahead: it must not.
    await new Promise((r) => setTimeout(r, 1000));
    const waits = logLines(bridge, /^client is not reading its results/);
    const buffered = Math.max(...waits.map((l) => Number(l.buffered)));
    // What waits in the server's socket buffer stays within one result plus the high-water mark (1 MB)...
    expect(buffered).toBeLessThan(16 * 1024 * 1024);
    // ...and only the statements whose results the socket could take have run.
    const session = waits[0]!.session;
    const ran = logLines(bridge, 'statement').filter((l) => l.session === session).length;
    expect(ran).toBeLessThan(queries / 2);

    // Once the client reads, every result arrives.
    c.socket.resume();
    let completed = 0;
    while (completed < queries) {
      const frames = await c.until('Z', 60000);
      completed += frames.filter((f) => f.code === 'C').length;
      expect(errorOf(frames)).toBeUndefined();
    }
    expect(completed).toBe(queries);
    c.close();
  } finally {
    await bridge.stop();
  }
}, 180000);

test('failed logins are logged with user, address, method and reason, never the password; --auth password without TLS warns', async () => {
  const secret = 'right-pw-51d2';
  const wrong = 'wrong-pw-90be';
  const bridge = await bridgeWith(['--auth', 'password', '--user', 'analyst'], { PGBRIDGE_PASSWORD: secret });
  try {
    expect(
      logLines(bridge, /^--auth password sends each password in cleartext and no TLS is configured/),
    ).toHaveLength(1);
    for (const [user, password] of [
      ['analyst', wrong],
      ['mallory', secret],
    ]) {
      const c = client(bridge.port, { user, password });
      c.on('error', () => {});
      await expect(c.connect()).rejects.toMatchObject({ code: '28P01' });
    }
    const good = client(bridge.port, { user: 'analyst', password: secret });
    await good.connect();
    await good.end();

    // psql sslmode=require against a server without TLS: refused, and logged as such.
    const tlsOnly = psql(
      { host: '127.0.0.1', port: bridge.port, database: 'aws', user: 'analyst' },
      ['SELECT 1'],
      {
        sslmode: 'require',
      },
    );
    expect(tlsOnly.status).not.toBe(0);
    expect(tlsOnly.stderr).toMatch(/server does not support SSL/);
    await eventually(
      'the TLS refusal is logged',
      () =>
        logLines(bridge, 'connection refused: the client asked for TLS, which is not configured').length ===
        1,
    );
    await eventually('both failures logged', () => logLines(bridge, 'login failed').length === 2);
    expect(logLines(bridge, 'login failed')).toEqual([
      expect.objectContaining({
        user: 'analyst',
        from: '127.0.0.1',
        method: 'password',
        reason: 'wrong password',
      }),
      expect.objectContaining({
        user: 'mallory',
        from: '127.0.0.1',
        method: 'password',
        reason: 'no such user',
      }),
    ]);
  } finally {
    await bridge.stop();
  }
  expect(bridge.output()).not.toContain(secret);
  expect(bridge.output()).not.toContain(wrong);
});
