import { parseCommandComplete } from '../server/wire/backend-parser.js';
import * as frontend from '../server/wire/frontend-serializer.js';
import { ByteClient, errorOf, parameterStatuses, rowsOf } from './support/byte-client.js';
import { jsonLogLines } from './support/processes.js';
import { psqlBytes } from './support/psql.js';
import { startStack, type Stack } from './support/stack.js';

let stack: Stack;

beforeAll(async () => {
  // At debug the bridge logs each statement's outcome, which the last test reads.
  stack = await startStack({ regions: ['us-east-1'], bridgeArgs: ['--log-level', 'debug'] });
});
afterAll(() => stack?.stop());

/** psql with PGCLIENTENCODING, the statements given as bytes on stdin; stdout and stderr kept as bytes. */
function psqlIn(encoding: string, input: Buffer) {
  const r = psqlBytes(stack.pg, [], { stdin: input, tuplesOnly: true, env: { PGCLIENTENCODING: encoding } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString('latin1') };
}

/** A frontend message with a raw body (for bytes that are not valid in the encoding the client claims). */
function message(code: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const header = Buffer.alloc(5);
  header[0] = code.charCodeAt(0);
  header.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}
const z = (bytes: Buffer | string) => Buffer.concat([Buffer.from(bytes as string), Buffer.of(0)]);

test('psql with PGCLIENTENCODING=WIN1252 round-trips accented text and the euro sign', () => {
  // 'café' typed in WIN1252: é is the single byte 0xe9; the engine must see one character (length 4).
  const r = psqlIn(
    'WIN1252',
    Buffer.from("SELECT 'caf\xe9', length('caf\xe9'), chr(8364), 'na\xefve' = U&'na\\00efve';\n", 'latin1'),
  );
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  // The answer comes back in WIN1252 too: é as 0xe9, € as 0x80.
  expect(r.stdout).toEqual(
    Buffer.concat([Buffer.from('caf\xe9|4|', 'latin1'), Buffer.of(0x80), Buffer.from('|t\n')]),
  );
});

test('psql with LATIN1: accented text round-trips; a character LATIN1 lacks is 22P05 and the session goes on', () => {
  const r = psqlIn(
    'LATIN1',
    Buffer.from(
      "SELECT upper('\xe9t\xe9') AS \"r\xe9sum\xe9\";\nSELECT chr(8364);\nSELECT 'still here';\n",
      'latin1',
    ),
  );
  expect(r.stdout.toString('latin1')).toBe('\xc9T\xc9\nstill here\n');
  expect(r.stderr).toContain(
    'ERROR:  character with byte sequence 0xe2 0x82 0xac in encoding "UTF8" has no equivalent in encoding "LATIN1"',
  );
  expect(r.stderr).toContain('HINT:  Set client_encoding to UTF8');
});

test('SET client_encoding / SET NAMES / RESET change the conversion and are reported with ParameterStatus', async () => {
  const c = await ByteClient.connect(stack.pg.port);
  try {
    c.query("SET client_encoding TO 'latin1'");
    let frames = await c.until('Z');
    expect(parameterStatuses(frames)).toEqual([['client_encoding', 'LATIN1']]);
    c.query(Buffer.from("SELECT '\xe9l\xe8ve' AS \"\xe9\", length('\xe9l\xe8ve')", 'latin1'));
    frames = await c.until('Z');
    expect(rowsOf(frames)).toEqual([[Buffer.from('\xe9l\xe8ve', 'latin1'), Buffer.from('5')]]);
    // The column name is converted too.
    expect(frames.find((f) => f.code === 'T')!.payload.includes(Buffer.from('\xe9\0', 'latin1'))).toBe(true);

    // A text-format Bind parameter is text in the client encoding.
    c.send(
      frontend.parse({ statement: '', sql: 'SELECT $1::text, length($1::text)', paramTypes: [] }),
      frontend.bind({
        portal: '',
        statement: '',
        paramFormats: [],
        params: [Buffer.from('\xfc', 'latin1')],
        resultFormats: [],
      }),
      frontend.describe('P'),
      frontend.execute(),
      frontend.sync(),
    );
    expect(rowsOf(await c.until('Z'))).toEqual([[Buffer.from('\xfc', 'latin1'), Buffer.from('1')]]);

    // Binary results: text-like types are text in binary too (converted); others are left alone.
    c.send(
      frontend.parse({
        statement: '',
        sql: `SELECT U&'\\00e9'::text, U&'\\00e9'::varchar, jsonb_build_object('k', U&'\\00e9'), 256::int4`,
        paramTypes: [],
      }),
      frontend.bind({ portal: '', statement: '', paramFormats: [], params: [], resultFormats: [1] }),
      frontend.describe('P'),
      frontend.execute(),
      frontend.sync(),
    );
    expect(rowsOf(await c.until('Z'))).toEqual([
      [
        Buffer.from('\xe9', 'latin1'),
        Buffer.from('\xe9', 'latin1'),
        Buffer.from('\x01{"k": "\xe9"}', 'latin1'),
        Buffer.from([0, 0, 1, 0]),
      ],
    ]);

    // COPY TO STDOUT text is converted as well.
    c.query(Buffer.from("COPY (SELECT 'gar\xe7on') TO STDOUT", 'latin1'));
    frames = await c.until('Z');
    expect(frames.filter((f) => f.code === 'd').map((f) => f.payload)).toEqual([
      Buffer.from('gar\xe7on\n', 'latin1'),
    ]);

    c.query("SET NAMES 'KOI8-R'");
    expect(parameterStatuses(await c.until('Z'))).toEqual([['client_encoding', 'KOI8R']]);
    c.query('SHOW client_encoding');
    expect(rowsOf(await c.until('Z'))).toEqual([[Buffer.from('KOI8R')]]);
    c.query("SELECT U&'\\043F\\0440\\0438\\0432\\0435\\0442'"); // привет, typed in ASCII
    // KOI8-R bytes of 'привет'.
    expect(rowsOf(await c.until('Z'))).toEqual([[Buffer.from('d0d2c9d7c5d4', 'hex')]]);

    c.query('SET client_encoding = no_such_encoding');
    frames = await c.until('Z');
    expect(errorOf(frames)).toMatchObject({
      code: '22023',
      message: 'invalid value for parameter "client_encoding": "no_such_encoding"',
    });

    c.query('RESET client_encoding');
    frames = await c.until('Z');
    expect(parameterStatuses(frames)).toEqual([['client_encoding', 'UTF8']]);
    c.query("SELECT 'é'");
    expect(rowsOf(await c.until('Z'))).toEqual([[Buffer.from('é')]]);
  } finally {
    c.close();
  }
});

test('bytes that are not valid in the client encoding get 22021, and the session goes on', async () => {
  const c = await ByteClient.connect(stack.pg.port);
  try {
    // UTF8 (the default): 0xe9 followed by a quote is not UTF-8.
    c.query(Buffer.from("SELECT 'caf\xe9'", 'latin1'));
    let frames = await c.until('Z');
    expect(errorOf(frames)).toMatchObject({
      severity: 'ERROR',
      code: '22021',
      message: 'invalid byte sequence for encoding "UTF8": 0xe9 0x27',
    });
    expect(frames.at(-1)!.payload.toString()).toBe('I');

    // Extended protocol: the Parse fails, the rest is skipped until Sync.
    c.send(
      message('P', z(''), z(Buffer.from('SELECT 1 /* \xff */', 'latin1')), Buffer.from([0, 0])),
      frontend.bind({ portal: '', statement: '', paramFormats: [], params: [], resultFormats: [] }),
      frontend.execute(),
      frontend.sync(),
    );
    frames = await c.until('Z');
    expect(frames.map((f) => f.code).join('')).toBe('EZ');
    expect(errorOf(frames)).toMatchObject({
      code: '22021',
      message: 'invalid byte sequence for encoding "UTF8": 0xff',
    });

    // SJIS: a lead byte with nothing after it.
    c.query("SET client_encoding TO 'SJIS'");
    await c.until('Z');
    c.query(Buffer.from([...Buffer.from("SELECT '"), 0x93, 0xfa, 0x96, ...Buffer.from("'")]));
    frames = await c.until('Z');
    expect(errorOf(frames)).toMatchObject({
      code: '22021',
      message: 'invalid byte sequence for encoding "SJIS": 0x96 0x27',
    });
    // And valid SJIS (日本) goes through.
    c.query(
      Buffer.from([
        ...Buffer.from("SELECT '"),
        0x93,
        0xfa,
        0x96,
        0x7b,
        ...Buffer.from("' = U&'\\65E5\\672C'"),
      ]),
    );
    expect(rowsOf(await c.until('Z'))).toEqual([[Buffer.from('t')]]);

    c.query('SELECT 1');
    frames = await c.until('Z');
    expect(rowsOf(frames)).toEqual([[Buffer.from('1')]]);
    expect(parseCommandComplete(frames.find((f) => f.code === 'C')!.payload)).toBe('SELECT 1');
  } finally {
    c.close();
  }
});

test('COPY FROM STDIN data is text in the client encoding: converted, and 22021 when it is not valid', async () => {
  const c = await ByteClient.connect(stack.pg.port, { client_encoding: 'LATIN1' });
  const copy = Buffer.from(
    'COPY appflow.connector_profiles (region, connector_profile_name, connector_type, connection_mode) FROM STDIN',
  );
  try {
    // LATIN1: the value reaches the engine as 'café' (one character); the type check quotes it back in LATIN1.
    c.query(copy);
    expect((await c.until('G')).at(-1)!.code).toBe('G');
    c.send(
      frontend.copyData(Buffer.from('us-east-1\tlatin1-copy\tcaf\xe9\tPublic\n', 'latin1')),
      frontend.copyDone(),
    );
    let frames = await c.until('Z');
    const error = frames.find((f) => f.code === 'E')!.payload;
    expect(error.includes(Buffer.from('caf\xe9', 'latin1'))).toBe(true);
    expect(error.includes(Buffer.from('café', 'utf8'))).toBe(false);

    // SJIS: the data ends inside a two-byte character.
    c.query("SET client_encoding TO 'SJIS'");
    await c.until('Z');
    c.query(copy);
    await c.until('G');
    c.send(
      frontend.copyData(Buffer.from([...Buffer.from('us-east-1\tsjis-copy\tSalesforce\tPublic'), 0x93])),
      frontend.copyDone(),
    );
    frames = await c.until('Z');
    expect(errorOf(frames)).toMatchObject({
      code: '22021',
      message: 'invalid byte sequence for encoding "SJIS": 0x93',
    });
    c.query('SELECT 1');
    expect(rowsOf(await c.until('Z'))).toEqual([[Buffer.from('1')]]);
  } finally {
    c.close();
  }
});

test('client_encoding in the startup packet is checked; a bad one is FATAL 22023, and no engine ever restarts', async () => {
  const c = await ByteClient.open(stack.pg.port);
  c.send(frontend.startupMessage({ user: 'postgres', database: 'aws', client_encoding: 'EBCDIC' }));
  const frames = await c.until('E');
  expect(errorOf(frames)).toMatchObject({
    severity: 'FATAL',
    code: '22023',
    message: 'invalid value for parameter "client_encoding": "EBCDIC"',
  });
  await c.closed;

  // Each converting session above ran its statements in the engine without an internal error.
  const outcomes = jsonLogLines(stack.bridge.output(), /^statement/).map((l) => l.code ?? 'ok');
  const failed = outcomes.filter((code) => code !== 'ok');
  // The log records every statement's outcome (at debug), so an internal error would be seen...
  expect(outcomes.length).toBeGreaterThan(failed.length);
  // ...and the only failures are data exceptions (22021, 22023): never XX000.
  expect(failed.filter((code) => !String(code).startsWith('22'))).toEqual([]);
  expect(jsonLogLines(stack.bridge.output(), /restart/)).toEqual([]);
});
