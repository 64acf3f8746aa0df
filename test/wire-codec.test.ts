import { PassThrough } from 'node:stream';
import { parse as pgParse } from 'pg-protocol';
import type { BackendMessage } from 'pg-protocol/dist/messages.js';
import { PgError, SqlState } from '../server/errors.js';
import * as backend from '../server/wire/backend-serializer.js';
import * as bp from '../server/wire/backend-parser.js';
import { FrontendParser } from '../server/wire/frontend-parser.js';
import * as frontend from '../server/wire/frontend-serializer.js';
import type { ErrorFields, FrontendMessage } from '../server/wire/messages.js';

/** pg-protocol's client-side parser, as an independent decoder of what we serialize. */
async function decodeWithPg(...buffers: Buffer[]): Promise<(BackendMessage & Record<string, unknown>)[]> {
  const stream = new PassThrough();
  const out: (BackendMessage & Record<string, unknown>)[] = [];
  const done = pgParse(stream, (m) => out.push(m as BackendMessage & Record<string, unknown>));
  for (const b of buffers) stream.write(b);
  stream.end();
  await done;
  return out;
}

const sampleFrontend: FrontendMessage[] = [
  { type: 'Query', sql: "select 'héllo ☃', 1" },
  { type: 'Query', sql: '' },
  { type: 'Parse', statement: 's1', sql: 'select $1::int, $2::bytea', paramTypes: [23, 17] },
  { type: 'Parse', statement: '', sql: 'select 1', paramTypes: [] },
  { type: 'Parse', statement: 'big', sql: 'select $1', paramTypes: [4294967295] },
  {
    type: 'Bind',
    portal: 'p1',
    statement: 's1',
    paramFormats: [0, 1],
    params: [Buffer.from('42'), Buffer.from([0, 1, 2, 255])],
    resultFormats: [1, 0],
  },
  {
    type: 'Bind',
    portal: '',
    statement: '',
    paramFormats: [],
    params: [null, Buffer.alloc(0)],
    resultFormats: [],
  },
  { type: 'Describe', target: 'S', name: 's1' },
  { type: 'Describe', target: 'P', name: '' },
  { type: 'Execute', portal: 'p1', maxRows: 100 },
  { type: 'Execute', portal: '', maxRows: 0 },
  { type: 'Close', target: 'S', name: 's1' },
  { type: 'Close', target: 'P', name: 'p1' },
  { type: 'Sync' },
  { type: 'Flush' },
  { type: 'CopyData', data: Buffer.from('1\tfoo\n') },
  { type: 'CopyDone' },
  { type: 'CopyFail', message: 'client gave up' },
  { type: 'Terminate' },
];

describe('frontend serializer -> frontend parser', () => {
  const bytes = Buffer.concat(sampleFrontend.map((m) => frontend.serializeFrontend(m)));

  test('all messages in one chunk', () => {
    expect(new FrontendParser().feed(bytes)).toEqual(sampleFrontend);
  });

  test('byte by byte', () => {
    const parser = new FrontendParser();
    const out: FrontendMessage[] = [];
    for (let i = 0; i < bytes.length; i++) out.push(...parser.feed(bytes.subarray(i, i + 1)));
    expect(out).toEqual(sampleFrontend);
    expect(parser.buffered).toBe(0);
  });

  test('random chunk sizes', () => {
    for (let seed = 1; seed < 50; seed++) {
      const parser = new FrontendParser();
      const out: FrontendMessage[] = [];
      let i = 0;
      let x = seed;
      while (i < bytes.length) {
        x = (x * 1103515245 + 12345) % 2147483648;
        const n = 1 + (x % 37);
        out.push(...parser.feed(bytes.subarray(i, i + n)));
        i += n;
      }
      expect(out).toEqual(sampleFrontend);
    }
  });

  test('decoded Buffers stay intact after later chunks are fed', () => {
    const parser = new FrontendParser();
    const first = frontend.copyData(Buffer.from('abcdef'));
    const [m] = parser.feed(Buffer.concat([first, frontend.copyData('x').subarray(0, 3)]));
    parser.feed(frontend.copyData('x').subarray(3));
    parser.feed(frontend.copyData('zzzzzzzzzzzzzzzzzzzzzzzz'));
    expect(m).toEqual({ type: 'CopyData', data: Buffer.from('abcdef') });
  });

  test('string params, FunctionCall and unknown types', () => {
    const parser = new FrontendParser();
    const bind = frontend.bind({
      portal: '',
      statement: '',
      paramFormats: [0],
      params: ['ü'],
      resultFormats: [],
    });
    const fcall = Buffer.from([0x46, 0, 0, 0, 6, 0, 1]);
    const unknown = Buffer.from([0x70, 0, 0, 0, 5, 0]); // a PasswordMessage after startup
    expect(parser.feed(Buffer.concat([bind, fcall, unknown]))).toEqual([
      {
        type: 'Bind',
        portal: '',
        statement: '',
        paramFormats: [0],
        params: [Buffer.from('ü')],
        resultFormats: [],
      },
      { type: 'FunctionCall' },
      { type: 'Unknown', code: 'p' },
    ]);
  });

  const protocolViolation = (fn: () => unknown): void => {
    let caught: unknown;
    try {
      fn();
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PgError);
    expect((caught as PgError).code).toBe(SqlState.protocol_violation);
    expect((caught as PgError).severity).toBe('FATAL');
  };

  test('absurd lengths are rejected with 08P01 before buffering', () => {
    protocolViolation(() => new FrontendParser().feed(Buffer.from([0x51, 0x7f, 0xff, 0xff, 0xff])));
    protocolViolation(() => new FrontendParser().feed(Buffer.from([0x53, 0, 0, 0, 3])));
    // Sync is a small message: 1 MB is absurd for it even though Query may be that big.
    protocolViolation(() => new FrontendParser().feed(Buffer.from([0x53, 0, 0x10, 0, 0])));
  });

  test('a message above the configured limit is refused with FATAL 54000 from its header alone', () => {
    const parser = new FrontendParser({ maxMessageLength: 100 });
    // Only the 5-byte header of a declared (almost) 1 GiB Query: refused before any of its body arrives.
    const header = Buffer.from([0x51, 0x3f, 0xff, 0xff, 0xff]);
    expect(() => parser.feed(header)).toThrow(
      expect.objectContaining({ code: '54000', severity: 'FATAL' }) as unknown as Error,
    );
    expect(parser.buffered).toBe(0);
    expect(() => new FrontendParser({ maxMessageLength: 100 }).feed(frontend.query('x'.repeat(200)))).toThrow(
      /more than this server's limit of 100 bytes/,
    );
  });

  test('malformed bodies are rejected with 08P01 and the parser stays failed', () => {
    const parser = new FrontendParser();
    protocolViolation(() => parser.feed(Buffer.from([0x51, 0, 0, 0, 6, 0x61, 0x62]))); // no terminator
    protocolViolation(() => parser.feed(frontend.sync()));
    protocolViolation(() => new FrontendParser().feed(Buffer.from([0x53, 0, 0, 0, 5, 0]))); // Sync with a body
    protocolViolation(() => new FrontendParser().feed(Buffer.from([0x44, 0, 0, 0, 6, 0x58, 0]))); // Describe 'X'
    // Bind claiming a 100-byte parameter that is not there.
    const bad = Buffer.from([0x42, 0, 0, 0, 14, 0, 0, 0, 0, 0, 1, 0, 0, 0, 100]);
    protocolViolation(() => new FrontendParser().feed(bad));
  });
});

describe('backend serializer -> pg-protocol parser', () => {
  test('authentication messages', async () => {
    const salt = Buffer.from([1, 2, 3, 4]);
    const m = await decodeWithPg(
      backend.authenticationOk(),
      backend.authenticationCleartextPassword(),
      backend.authenticationMD5Password(salt),
      backend.authenticationSASL(['SCRAM-SHA-256']),
      backend.authenticationSASLContinue('r=abc,s=c2FsdA==,i=4096'),
      backend.authenticationSASLFinal('v=xyz'),
    );
    expect(m.map((x) => x.name)).toEqual([
      'authenticationOk',
      'authenticationCleartextPassword',
      'authenticationMD5Password',
      'authenticationSASL',
      'authenticationSASLContinue',
      'authenticationSASLFinal',
    ]);
    expect(m[2]!.salt).toEqual(salt);
    expect(m[3]!.mechanisms).toEqual(['SCRAM-SHA-256']);
    expect(m[4]!.data).toBe('r=abc,s=c2FsdA==,i=4096');
    expect(m[5]!.data).toBe('v=xyz');
  });

  test('session messages', async () => {
    const fields = [
      { name: 'id', tableOid: 16384, columnAttr: 1, typeOid: 23, typeSize: 4, typeModifier: -1, format: 0 },
      { name: 'naïve', tableOid: 0, columnAttr: 0, typeOid: 17, typeSize: -1, typeModifier: -1, format: 1 },
    ];
    const m = await decodeWithPg(
      backend.parameterStatus('server_version', '16.0'),
      backend.backendKeyData(1234, -5678),
      backend.readyForQuery('T'),
      backend.rowDescription(fields),
      backend.dataRow(['1', Buffer.from([0, 255]), null, '']),
      backend.commandComplete('SELECT 1'),
      backend.emptyQueryResponse(),
      backend.parseComplete(),
      backend.bindComplete(),
      backend.closeComplete(),
      backend.noData(),
      backend.portalSuspended(),
      backend.parameterDescription([23, 25, 4294967295]),
      backend.copyOutResponse(3, 0),
      backend.copyInResponse(2, 1),
      backend.copyData('a\tb\n'),
      backend.copyDone(),
      backend.notificationResponse(7, 'chan', 'payload'),
    );
    expect(m.map((x) => x.name)).toEqual([
      'parameterStatus',
      'backendKeyData',
      'readyForQuery',
      'rowDescription',
      'dataRow',
      'commandComplete',
      'emptyQuery',
      'parseComplete',
      'bindComplete',
      'closeComplete',
      'noData',
      'portalSuspended',
      'parameterDescription',
      'copyOutResponse',
      'copyInResponse',
      'copyData',
      'copyDone',
      'notification',
    ]);
    expect(m[0]).toMatchObject({ parameterName: 'server_version', parameterValue: '16.0' });
    expect(m[1]).toMatchObject({ processID: 1234, secretKey: -5678 });
    expect(m[2]).toMatchObject({ status: 'T' });
    const rd = m[3] as unknown as { fields: Record<string, unknown>[] };
    expect(rd.fields[0]).toMatchObject({
      name: 'id',
      tableID: 16384,
      columnID: 1,
      dataTypeID: 23,
      dataTypeSize: 4,
    });
    expect(rd.fields[1]).toMatchObject({ name: 'naïve', dataTypeID: 17, dataTypeSize: -1, format: 'binary' });
    expect(m[4]!.fields).toEqual(['1', Buffer.from([0, 255]).toString('utf8'), null, '']);
    expect(m[5]).toMatchObject({ text: 'SELECT 1' });
    expect(m[12]!.dataTypeIDs).toEqual([23, 25, 4294967295]);
    expect(m[13]).toMatchObject({ binary: false, columnTypes: [0, 0, 0] });
    expect(m[14]).toMatchObject({ binary: true, columnTypes: [1, 1] });
    expect((m[15]!.chunk as Buffer).toString()).toBe('a\tb\n');
    expect(m[17]).toMatchObject({ processId: 7, channel: 'chan', payload: 'payload' });
  });

  const allFields: ErrorFields = {
    severity: 'ERROR',
    code: '42P01',
    message: 'relation "x" does not exist',
    detail: 'd',
    hint: 'h',
    position: 15,
    internalPosition: 3,
    internalQuery: 'iq',
    where: 'w',
    schema: 'public',
    table: 'x',
    column: 'c',
    dataType: 'int4',
    constraint: 'k',
    file: 'parse_relation.c',
    line: '1384',
    routine: 'parserOpenTable',
  };

  test('ErrorResponse and NoticeResponse carry every field', async () => {
    const [err, notice] = await decodeWithPg(
      backend.errorResponse(allFields),
      backend.noticeResponse({ severity: 'NOTICE', code: '00000', message: 'hi' }),
    );
    expect(err!.name).toBe('error');
    expect(err).toMatchObject({
      ...allFields,
      position: '15',
      internalPosition: '3',
    });
    expect(notice).toMatchObject({ name: 'notice', severity: 'NOTICE', code: '00000', message: 'hi' });
  });

  test('our backend parser reads what we serialize', () => {
    // A type OID above 2^31 and a negative size: unsigned and signed fields must not be mixed up.
    const column = {
      name: 'a',
      tableOid: 1,
      columnAttr: 2,
      typeOid: 3000000000,
      typeSize: -2,
      typeModifier: 7,
      format: 1,
    };
    const frames = bp.splitBackendMessages(
      Buffer.concat([
        backend.errorResponse(allFields),
        backend.rowDescription([column]),
        backend.dataRow([null, 'x', Buffer.from([1])]),
        backend.commandComplete('INSERT 0 3'),
        backend.parameterDescription([23, 3000000000]),
        backend.parameterStatus('TimeZone', 'UTC'),
        backend.readyForQuery('E'),
        backend.negotiateProtocolVersion(0, ['_pq_.foo']),
        backend.backendKeyData(1, 2),
        backend.authenticationSASL(['SCRAM-SHA-256']),
        backend.copyOutResponse(2, 0, [0, 1]),
      ]),
    );
    expect(frames.map((f) => f.code).join('')).toBe('ETDCtSZvKRH');
    expect(bp.parseErrorFields(frames[0]!.payload)).toEqual(allFields);
    expect(bp.parseRowDescription(frames[1]!.payload)).toEqual([column]);
    expect(bp.parseDataRow(frames[2]!.payload)).toEqual([null, Buffer.from('x'), Buffer.from([1])]);
    expect(bp.parseCommandComplete(frames[3]!.payload)).toBe('INSERT 0 3');
    expect(bp.parseParameterDescription(frames[4]!.payload)).toEqual([23, 3000000000]);
    expect(bp.parseParameterStatus(frames[5]!.payload)).toEqual(['TimeZone', 'UTC']);
    expect(bp.parseReadyForQuery(frames[6]!.payload)).toBe('E');
    expect(bp.parseNegotiateProtocolVersion(frames[7]!.payload)).toEqual({
      newestMinor: 0,
      unrecognizedOptions: ['_pq_.foo'],
    });
    expect(bp.parseBackendKeyData(frames[8]!.payload)).toEqual({ processId: 1, secretKey: 2 });
    expect(bp.parseAuthentication(frames[9]!.payload)).toEqual({
      request: 'SASL',
      mechanisms: ['SCRAM-SHA-256'],
    });
    expect(bp.parseCopyResponse(frames[10]!.payload)).toEqual({ format: 0, columnFormats: [0, 1] });
    expect(Buffer.concat(frames.map((f) => f.raw)).length).toBe(
      frames.reduce((n, f) => n + 5 + f.payload.length, 0),
    );
  });

  test('splitBackendMessages rejects a truncated frame', () => {
    const row = backend.dataRow(['abc']);
    expect(() => bp.splitBackendMessages(row.subarray(0, row.length - 1))).toThrow(PgError);
    expect(() => bp.splitBackendMessages(row.subarray(0, 3))).toThrow(PgError);
  });

  test('a NUL inside a field cannot break framing', async () => {
    const [err] = await decodeWithPg(
      backend.errorResponse({ severity: 'ERROR', code: 'XX000', message: 'a\0b' }),
    );
    expect(err).toMatchObject({ message: 'ab', code: 'XX000' });
  });
});

describe('errorFieldsOf', () => {
  test('PgError', () => {
    const err = new PgError(SqlState.undefined_table, 'nope', { hint: 'h', position: 3, severity: 'FATAL' });
    expect(backend.errorFieldsOf(err)).toEqual({
      severity: 'FATAL',
      code: '42P01',
      message: 'nope',
      hint: 'h',
      position: 3,
    });
  });

  test('any other Error is XX000 without its stack', () => {
    const fields = backend.errorFieldsOf(new TypeError('boom'));
    expect(fields).toEqual({ severity: 'ERROR', code: 'XX000', message: 'boom' });
    expect(JSON.stringify(fields)).not.toContain('at ');
    expect(backend.errorFieldsOf('weird')).toEqual({ severity: 'ERROR', code: 'XX000', message: 'weird' });
  });

  test('errors already carrying PostgreSQL fields keep them; Node system errors do not pass as SQLSTATE', () => {
    const dbError = Object.assign(new Error('dup'), {
      code: '23505',
      severity: 'ERROR',
      constraint: 'pk',
      position: '7',
    });
    expect(backend.errorFieldsOf(dbError)).toEqual({
      severity: 'ERROR',
      code: '23505',
      message: 'dup',
      constraint: 'pk',
      position: 7,
    });
    const epipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
    expect(backend.errorFieldsOf(epipe).code).toBe('XX000');
  });
});
