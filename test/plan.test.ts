import { catalog } from '../catalog/index.js';
import { PgError } from '../server/errors.js';
import { parseArrayLiteral } from '../server/plan/array-literal.js';
import { returnsNoRows } from '../server/plan/no-rows.js';
import { fetchLimit } from '../server/plan/fetch-limit.js';
import { neededColumns } from '../server/plan/columns.js';
import { repeatability } from '../server/plan/volatility.js';
import {
  closeOf,
  copyOf,
  deallocateOf,
  declareOf,
  discardOf,
  executeOf,
  explainOf,
  fetchOf,
  loadParser,
  parseStatements,
  prepareOf,
  resolveKeys,
  setOf,
  showOf,
  tableReads,
  transactionOf,
  writeTarget,
  writeTargets,
  type ParsedStatement,
} from '../server/plan/index.js';

beforeAll(async () => {
  await loadParser();
});

function one(sql: string): ParsedStatement {
  const stmts = parseStatements(sql);
  expect(stmts).toHaveLength(1);
  return stmts[0];
}

const c = (value: string) => ({ kind: 'const', value });
const p = (index: number) => ({ kind: 'param', index });

/** A key pinned by another table's rows: the source table, the FROM item and the expression, as SQL. */
const rows = (source: string, from: string, expr: string) => ({ kind: 'rows', source, from, expr });

/** Reads as `schema.table` -> keys, in walk order (a key from rows names its source table). */
function reads(sql: string): { table: string; keys: object }[] {
  return tableReads(one(sql), catalog).map((r) => ({
    table: `${r.table.schema}.${r.table.name}`,
    keys: Object.fromEntries(
      Object.entries(r.keys).map(([column, values]) => [
        column,
        values!.map((v) => (v.kind === 'rows' ? { ...v, source: `${v.source.schema}.${v.source.name}` } : v)),
      ]),
    ),
  }));
}

const RESOURCE = 'appflow.connector_profile';
const COLLECTION = 'appflow.connector_profiles';

describe('parseStatements', () => {
  test('splits a multi-statement string into each statement own text', () => {
    const stmts = parseStatements("BEGIN; SELECT 1 ; -- note\n select 'é;' AS x;; /* c */ COMMIT -- bye\n");
    expect(stmts.map((s) => s.sql)).toEqual(['BEGIN', 'SELECT 1', "select 'é;' AS x", 'COMMIT']);
    expect(stmts.map((s) => s.kind)).toEqual(['begin', 'select', 'select', 'commit']);
    expect(Object.keys(stmts[1].ast)).toEqual(['SelectStmt']);
  });

  test('keeps non-ASCII text intact across byte offsets', () => {
    const stmts = parseStatements("select 'ünïcødé 🚀'; select 2");
    expect(stmts.map((s) => s.sql)).toEqual(["select 'ünïcødé 🚀'", 'select 2']);
  });

  test('strips leading comments and keeps comments inside', () => {
    expect(one('-- lead\n/* block */ SELECT /* in */ 1 -- tail').sql).toBe('SELECT /* in */ 1');
    expect(one("SELECT '--not a comment'").sql).toBe("SELECT '--not a comment'");
  });

  test('empty string, whitespace and comments only give no statements', () => {
    expect(parseStatements('')).toEqual([]);
    expect(parseStatements('  \n ')).toEqual([]);
    expect(parseStatements('-- nothing\n/* here */')).toEqual([]);
    expect(parseStatements(';;')).toEqual([]);
  });

  test('syntax error -> PgError 42601 with PostgreSQL message and 1-based position', () => {
    const err = catchError(() => parseStatements('SELECT 1; selec 2'));
    expect(err).toBeInstanceOf(PgError);
    expect(err).toMatchObject({ code: '42601', message: 'syntax error at or near "selec"' });
    expect(err.fields.position).toBe(11);
  });

  test('error position counts characters, not bytes', () => {
    const err = catchError(() => parseStatements("select 'é' frm x"));
    expect(err).toMatchObject({ code: '42601', message: 'syntax error at or near "x"' });
    expect(err.fields.position).toBe(16);
  });

  test('syntax error at end of input and unterminated string', () => {
    expect(catchError(() => parseStatements('SELECT * FROM'))).toMatchObject({
      code: '42601',
      message: 'syntax error at end of input',
      fields: { position: 14 },
    });
    expect(catchError(() => parseStatements("SELECT 'abc"))).toMatchObject({
      code: '42601',
      message: 'unterminated quoted string at or near "\'abc"',
      fields: { position: 8 },
    });
  });

  test('LIMIT #,# is feature_not_supported as in PostgreSQL', () => {
    expect(catchError(() => parseStatements('SELECT 1 LIMIT 1, 2'))).toMatchObject({ code: '0A000' });
  });

  test.each([
    ['SELECT 1', 'select'],
    ['VALUES (1)', 'select'],
    ['TABLE appflow.connector_profiles', 'select'],
    ["INSERT INTO t VALUES ('a')", 'insert'],
    ['UPDATE t SET a = 1', 'update'],
    ['DELETE FROM t', 'delete'],
    ['MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN DELETE', 'merge'],
    ['BEGIN', 'begin'],
    ['START TRANSACTION ISOLATION LEVEL REPEATABLE READ', 'begin'],
    ['COMMIT', 'commit'],
    ['END', 'commit'],
    ['COMMIT TRANSACTION', 'commit'],
    ['ROLLBACK', 'rollback'],
    ['ABORT', 'rollback'],
    ['SAVEPOINT s', 'savepoint'],
    ['RELEASE SAVEPOINT s', 'release'],
    ['ROLLBACK TO SAVEPOINT s', 'rollback_to'],
    ["PREPARE TRANSACTION 'g'", 'prepare_transaction'],
    ["COMMIT PREPARED 'g'", 'commit_prepared'],
    ["ROLLBACK PREPARED 'g'", 'rollback_prepared'],
    ['SET search_path = pg_catalog', 'set'],
    ['SET TRANSACTION READ ONLY', 'set'],
    ['RESET ALL', 'reset'],
    ['RESET timezone', 'reset'],
    ['SHOW ALL', 'show'],
    ['PREPARE q AS SELECT 1', 'prepare'],
    ['EXECUTE q', 'execute'],
    ['DEALLOCATE q', 'deallocate'],
    ['DECLARE c CURSOR FOR SELECT 1', 'declare'],
    ['FETCH 100 FROM c1', 'fetch'],
    ['MOVE c', 'move'],
    ['CLOSE c', 'close'],
    ['DISCARD ALL', 'discard'],
    ['EXPLAIN SELECT 1', 'explain'],
    ['COPY t TO STDOUT', 'copy'],
    ['LISTEN ch', 'listen'],
    ['UNLISTEN *', 'unlisten'],
    ["NOTIFY ch, 'x'", 'notify'],
    ['TRUNCATE t', 'truncate'],
    ['LOCK TABLE t', 'lock'],
    ["DO 'begin end'", 'do'],
    ['CALL p()', 'call'],
    ['CREATE TABLE t (a int)', 'ddl'],
    ['CREATE TABLE t AS SELECT 1', 'ddl'],
    ['ALTER TABLE t ADD COLUMN b int', 'ddl'],
    ['DROP TABLE t', 'ddl'],
    ['CREATE INDEX ON t (a)', 'ddl'],
    ['CREATE VIEW v AS SELECT 1', 'ddl'],
    ["COMMENT ON TABLE t IS 'x'", 'ddl'],
    ['GRANT SELECT ON t TO u', 'ddl'],
    ['VACUUM', 'other'],
    ['CHECKPOINT', 'other'],
  ])('%s is %s', (sql, kind) => {
    expect(one(sql).kind).toBe(kind);
  });
});

describe('statement details', () => {
  test('transactions', () => {
    expect(transactionOf(one('BEGIN'))).toEqual({ kind: 'begin' });
    expect(transactionOf(one('START TRANSACTION ISOLATION LEVEL REPEATABLE READ'))).toEqual({
      kind: 'begin',
      isolation: 'repeatable read',
    });
    expect(transactionOf(one('BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE'))).toEqual({
      kind: 'begin',
      isolation: 'serializable',
      readOnly: true,
      deferrable: true,
    });
    expect(transactionOf(one('BEGIN READ WRITE'))).toEqual({ kind: 'begin', readOnly: false });
    expect(transactionOf(one('COMMIT AND CHAIN'))).toEqual({ kind: 'commit', chain: true });
    expect(transactionOf(one('ROLLBACK AND NO CHAIN'))).toEqual({ kind: 'rollback' });
    expect(transactionOf(one('SAVEPOINT "Sp 1"'))).toEqual({ kind: 'savepoint', name: 'Sp 1' });
    expect(transactionOf(one('RELEASE sp'))).toEqual({ kind: 'release', name: 'sp' });
    expect(transactionOf(one('ROLLBACK TO sp'))).toEqual({ kind: 'rollback_to', name: 'sp' });
    expect(transactionOf(one("PREPARE TRANSACTION 'g1'"))).toEqual({
      kind: 'prepare_transaction',
      name: 'g1',
    });
  });

  test.each([
    ['SET search_path = pg_catalog', { name: 'search_path', value: 'pg_catalog' }],
    ["SET timezone = 'GMT'", { name: 'timezone', value: 'GMT' }],
    ['SET datestyle = ISO', { name: 'datestyle', value: 'iso' }],
    ['SET DateStyle TO ISO, DMY', { name: 'datestyle', value: 'iso, dmy' }],
    ['SET intervalstyle = postgres', { name: 'intervalstyle', value: 'postgres' }],
    ['SET extra_float_digits = 3', { name: 'extra_float_digits', value: '3' }],
    ['SET extra_float_digits = -2', { name: 'extra_float_digits', value: '-2' }],
    ['SET seed = 0.5', { name: 'seed', value: '0.5' }],
    ['SET enable_seqscan = off', { name: 'enable_seqscan', value: 'off' }],
    ['SET enable_seqscan = true', { name: 'enable_seqscan', value: 'true' }],
    ["SET application_name = 'it''s'", { name: 'application_name', value: "it's" }],
    [
      'SET search_path = "$user", public, "My Schema", \'c d\'',
      { value: '"$user", public, "My Schema", "c d"' },
    ],
    ['SET search_path TO appflow, "select"', { value: 'appflow, "select"' }],
    ["SET TIME ZONE 'UTC'", { name: 'timezone', value: 'UTC' }],
    ['SET TIME ZONE -7', { name: 'timezone', value: '-7' }],
    ['SET TIME ZONE LOCAL', { name: 'timezone', value: null }],
    ["SET NAMES 'UTF8'", { name: 'client_encoding', value: 'UTF8' }],
    ['SET LOCAL statement_timeout = 1000', { name: 'statement_timeout', value: '1000', local: true }],
    ['SET SESSION statement_timeout TO DEFAULT', { name: 'statement_timeout', value: null, local: false }],
    ['SET plan_cache_mode = force_generic_plan', { name: 'plan_cache_mode', value: 'force_generic_plan' }],
    ['SET Custom.Opt = 1', { name: 'custom.opt', value: '1' }],
    ['SET ROLE bob', { name: 'role', value: 'bob' }],
    ["SET SCHEMA 'foo'", { name: 'search_path', value: 'foo' }],
    ['RESET timezone', { name: 'timezone', value: null, isReset: true, resetAll: false }],
    ['RESET ALL', { name: 'all', value: null, isReset: true, resetAll: true }],
  ])('%s', (sql, expected) => {
    expect(setOf(one(sql))).toMatchObject({ local: false, isReset: false, resetAll: false, ...expected });
  });

  test('SET TRANSACTION and SET SESSION CHARACTERISTICS list the GUCs they set', () => {
    expect(setOf(one('SET TRANSACTION ISOLATION LEVEL READ COMMITTED, READ ONLY'))).toEqual({
      name: 'transaction',
      value: null,
      local: false,
      isReset: false,
      resetAll: false,
      items: [
        { name: 'transaction_isolation', value: 'read committed' },
        { name: 'transaction_read_only', value: 'on' },
      ],
    });
    expect(setOf(one('SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE')).items).toEqual([
      { name: 'default_transaction_read_only', value: 'off' },
    ]);
  });

  test('SHOW', () => {
    expect(showOf(one('SHOW TIME ZONE'))).toEqual({ name: 'timezone' });
    expect(showOf(one('SHOW ALL'))).toEqual({ name: 'all' });
    expect(showOf(one('show "DateStyle"'))).toEqual({ name: 'datestyle' });
  });

  test('PREPARE / EXECUTE / DEALLOCATE', () => {
    const prep = prepareOf(
      one(
        'PREPARE q(text, int[], varchar(3)) AS SELECT connector_type FROM appflow.connector_profile WHERE region = $1',
      ),
    );
    expect(prep.name).toBe('q');
    expect(prep.paramTypes).toEqual(['text', 'int[]', 'varchar(3)']);
    expect(prep.query.sql).toBe('SELECT connector_type FROM appflow.connector_profile WHERE region = $1');
    expect(prep.query.kind).toBe('select');
    expect(prepareOf(one('PREPARE "Q" AS UPDATE t SET a = (1) ')).query).toMatchObject({
      sql: 'UPDATE t SET a = (1)',
      kind: 'update',
    });

    const exec = executeOf(one("EXECUTE q('eu-west-1', 1 + 2, NULL, 'x'::text, now())"));
    expect(exec).toEqual({
      name: 'q',
      params: ["'eu-west-1'", '1 + 2', 'NULL', "'x'::text", 'now()'],
      values: ['eu-west-1', undefined, null, 'x', undefined],
    });
    expect(executeOf(one('EXECUTE q'))).toEqual({ name: 'q', params: [], values: [] });
    expect(deallocateOf(one('DEALLOCATE pgsql_fdw_prep_1'))).toEqual({ name: 'pgsql_fdw_prep_1' });
    expect(deallocateOf(one('DEALLOCATE PREPARE q'))).toEqual({ name: 'q' });
    expect(deallocateOf(one('DEALLOCATE ALL'))).toEqual({ name: null });
  });

  test('DECLARE', () => {
    const fdw = declareOf(
      one(
        "DECLARE c1 CURSOR FOR\n\tSELECT data__identifier FROM appflow.connector_profile WHERE ((region = 'us-east-1'))",
      ),
    );
    expect(fdw).toMatchObject({ name: 'c1', scroll: false, noScroll: false, hold: false, binary: false });
    expect(fdw.query.sql).toBe(
      "SELECT data__identifier FROM appflow.connector_profile WHERE ((region = 'us-east-1'))",
    );
    const opts = declareOf(one('DECLARE "C" BINARY SCROLL CURSOR WITH HOLD FOR (SELECT 1) /* x */'));
    expect(opts).toMatchObject({ name: 'C', scroll: true, hold: true, binary: true });
    expect(opts.query.sql).toBe('(SELECT 1)');
    expect(declareOf(one('DECLARE c NO SCROLL CURSOR WITHOUT HOLD FOR VALUES (1)'))).toMatchObject({
      scroll: false,
      noScroll: true,
      hold: false,
    });
  });

  test.each([
    ['FETCH 100 FROM c1', { name: 'c1', direction: 'forward', count: 100, move: false }],
    ['FETCH c', { direction: 'forward', count: 1 }],
    ['FETCH NEXT FROM c', { direction: 'forward', count: 1 }],
    ['FETCH PRIOR c', { direction: 'backward', count: 1 }],
    ['FETCH FIRST c', { direction: 'absolute', count: 1 }],
    ['FETCH LAST c', { direction: 'absolute', count: -1 }],
    ['FETCH ALL c', { direction: 'forward', count: 'all' }],
    ['FETCH FORWARD 5 c', { direction: 'forward', count: 5 }],
    ['FETCH FORWARD ALL c', { direction: 'forward', count: 'all' }],
    ['FETCH BACKWARD 3 IN c', { direction: 'backward', count: 3 }],
    ['FETCH BACKWARD ALL c', { direction: 'backward', count: 'all' }],
    ['FETCH ABSOLUTE -2 c', { direction: 'absolute', count: -2 }],
    ['FETCH ABSOLUTE 0 c', { direction: 'absolute', count: 0 }],
    ['FETCH RELATIVE 0 c', { direction: 'relative', count: 0 }],
    ['FETCH RELATIVE -1 c', { direction: 'relative', count: -1 }],
    ['FETCH 0 c', { direction: 'forward', count: 0 }],
    ['FETCH -2 c', { direction: 'backward', count: 2 }],
    ['FETCH BACKWARD -3 c', { direction: 'forward', count: 3 }],
    ['MOVE LAST IN c', { direction: 'absolute', count: -1, move: true }],
    ['MOVE FORWARD 10 "My Cursor"', { name: 'My Cursor', count: 10, move: true }],
  ])('%s', (sql, expected) => {
    expect(fetchOf(one(sql))).toMatchObject(expected);
  });

  test('CLOSE / DISCARD', () => {
    expect(closeOf(one('CLOSE c1'))).toEqual({ name: 'c1' });
    expect(closeOf(one('CLOSE ALL'))).toEqual({ name: null });
    expect(discardOf(one('DISCARD ALL'))).toEqual({ target: 'all' });
    expect(discardOf(one('DISCARD PLANS'))).toEqual({ target: 'plans' });
    expect(discardOf(one('DISCARD SEQUENCES'))).toEqual({ target: 'sequences' });
    expect(discardOf(one('DISCARD TEMPORARY'))).toEqual({ target: 'temp' });
  });

  test('EXPLAIN', () => {
    expect(explainOf(one('EXPLAIN SELECT 1'))).toMatchObject({ analyze: false, query: { sql: 'SELECT 1' } });
    expect(explainOf(one('EXPLAIN ANALYZE VERBOSE SELECT 2'))).toMatchObject({
      analyze: true,
      options: { analyze: true, verbose: true },
      query: { sql: 'SELECT 2', kind: 'select' },
    });
    expect(explainOf(one('EXPLAIN (ANALYZE off, FORMAT JSON) UPDATE t SET a = 1'))).toMatchObject({
      analyze: false,
      options: { analyze: 'off', format: 'json' },
      query: { sql: 'UPDATE t SET a = 1', kind: 'update' },
    });
    expect(explainOf(one('EXPLAIN (ANALYZE, COSTS false) (SELECT 3)')).query.sql).toBe('(SELECT 3)');
    expect(explainOf(one('EXPLAIN (SELECT 4)')).query.sql).toBe('(SELECT 4)');
    const nested = explainOf(one('EXPLAIN DECLARE c CURSOR FOR SELECT 5'));
    expect(nested.query.kind).toBe('declare');
    expect(declareOf(nested.query).query.sql).toBe('SELECT 5');
  });

  test('COPY', () => {
    const q = copyOf(one('COPY (SELECT 1 FROM (SELECT 2) s) TO STDOUT WITH (FORMAT csv, HEADER)'));
    expect(q).toMatchObject({
      toStdout: true,
      fromStdin: false,
      isFrom: false,
      options: { format: 'csv', header: true },
    });
    expect(q.query?.sql).toBe('SELECT 1 FROM (SELECT 2) s');
    expect(
      copyOf(one('COPY appflow.connector_profiles (region, connector_profile_name) FROM STDIN')),
    ).toMatchObject({
      relation: 'appflow.connector_profiles',
      relationName: { schema: 'appflow', name: 'connector_profiles' },
      columns: ['region', 'connector_profile_name'],
      fromStdin: true,
      toStdout: false,
      isFrom: true,
      program: false,
    });
    expect(copyOf(one("COPY t TO '/tmp/x' CSV"))).toMatchObject({
      filename: '/tmp/x',
      toStdout: false,
      options: { format: 'csv' },
    });
    expect(copyOf(one("COPY t FROM PROGRAM 'cat'"))).toMatchObject({ program: true, fromStdin: false });
  });

  test('nested query text when comments or quoted types defeat the quick prefix match', () => {
    expect(declareOf(one('DECLARE c /* x */ CURSOR -- y\n FOR SELECT 1')).query.sql).toBe('SELECT 1');
    expect(declareOf(one('declare "for" cursor for select 2')).query.sql).toBe('select 2');
    expect(prepareOf(one('PREPARE q ("text", numeric(10, 2)) /* c */ AS SELECT $1')).query.sql).toBe(
      'SELECT $1',
    );
    expect(prepareOf(one("PREPARE q AS SELECT 'as'")).query.sql).toBe("SELECT 'as'");
    expect(explainOf(one('EXPLAIN /* c */ ANALYZE SELECT 1')).query.sql).toBe('SELECT 1');
    expect(explainOf(one("EXPLAIN (FORMAT 'json', ANALYZE) SELECT 2")).query.sql).toBe('SELECT 2');
    expect(explainOf(one('EXPLAIN(  select 3)')).query.sql).toBe('(  select 3)');
    expect(explainOf(one('EXPLAIN (  select 4)')).query.sql).toBe('(  select 4)');
    expect(explainOf(one('EXPLAIN VERBOSE\n\tWITH x AS (SELECT 5) SELECT * FROM x')).query.sql).toBe(
      'WITH x AS (SELECT 5) SELECT * FROM x',
    );
  });

  test('nested query text falls back to the deparser when the text does not show it', () => {
    const real = one('DECLARE c CURSOR FOR SELECT a FROM t WHERE b = 1');
    const query = declareOf({ ...real, sql: 'garbage' }).query;
    expect(query.sql).toBe('SELECT a FROM t WHERE b = 1');
    expect(query.kind).toBe('select');
  });

  test('a detail reader refuses the wrong statement', () => {
    expect(() => fetchOf(one('SELECT 1'))).toThrow(TypeError);
  });
});

describe('tableReads', () => {
  test("the seed's example: aws.appflow.connector_profile with region and data__Identifier", () => {
    expect(
      reads(
        "SELECT * FROM aws.appflow.connector_profile WHERE region = 'us-east-1' AND data__Identifier = '<ConnectorProfileName>'",
      ),
    ).toEqual([
      {
        table: RESOURCE,
        keys: { region: [c('us-east-1')], data__identifier: [c('<ConnectorProfileName>')] },
      },
    ]);
  });

  test("postgres_fdw's remote SQL", () => {
    expect(
      reads(
        "DECLARE c1 CURSOR FOR\n\tSELECT data__identifier, connector_type, connection_mode FROM appflow.connector_profile WHERE ((region = 'us-east-1'))",
      ),
    ).toEqual([{ table: RESOURCE, keys: { region: [c('us-east-1')] } }]);
    expect(
      reads(
        'DECLARE c1 CURSOR FOR\n\tSELECT connector_type FROM appflow.connector_profile WHERE ((region = $1::text)) AND ((data__identifier = $2::text))',
      ),
    ).toEqual([{ table: RESOURCE, keys: { region: [p(1)], data__identifier: [p(2)] } }]);
    expect(reads('DECLARE c1 CURSOR FOR\n\tSELECT count(*) FROM appflow.connector_profile')).toEqual([
      { table: RESOURCE, keys: {} },
    ]);
    expect(
      reads(
        "DECLARE c1 CURSOR FOR SELECT region, ctid FROM appflow.connector_profile WHERE ((region = 'us-east-1')) AND ((data__identifier = 'sf-prod')) FOR UPDATE",
      ),
    ).toEqual([{ table: RESOURCE, keys: { region: [c('us-east-1')], data__identifier: [c('sf-prod')] } }]);
    expect(
      reads(
        "UPDATE appflow.connector_profile SET connection_mode = 'Private'::text WHERE ((region = 'us-east-1')) AND ((data__identifier = 'sf-prod'))",
      ),
    ).toEqual([{ table: RESOURCE, keys: { region: [c('us-east-1')], data__identifier: [c('sf-prod')] } }]);
    expect(reads('UPDATE appflow.connector_profile SET connection_mode = $2 WHERE ctid = $1')).toEqual([
      { table: RESOURCE, keys: {} },
    ]);
  });

  test('unqualified table names and catalog name', () => {
    expect(reads("SELECT * FROM connector_profiles WHERE region = 'eu-west-1'")).toEqual([
      { table: COLLECTION, keys: { region: [c('eu-west-1')] } },
    ]);
    expect(reads('SELECT * FROM other.connector_profile')).toEqual([]);
    expect(reads('SELECT * FROM otherdb.appflow.connector_profile')).toEqual([]);
    expect(reads('SELECT * FROM "Connector_Profile"')).toEqual([]);
  });

  test('the collection table reports data__identifier too', () => {
    expect(
      reads("SELECT * FROM appflow.connector_profiles WHERE data__identifier = 'a' AND region = 'r'"),
    ).toEqual([{ table: COLLECTION, keys: { data__identifier: [c('a')], region: [c('r')] } }]);
  });

  test('IN lists, ANY(array), params, casts', () => {
    expect(reads("SELECT * FROM appflow.connector_profiles WHERE region IN ('a', 'b'::text)")).toEqual([
      { table: COLLECTION, keys: { region: [c('a'), c('b')] } },
    ]);
    expect(reads('SELECT * FROM appflow.connector_profiles WHERE region IN ($1, $2)')).toEqual([
      { table: COLLECTION, keys: { region: [p(1), p(2)] } },
    ]);
    expect(reads("SELECT * FROM appflow.connector_profiles WHERE region = ANY(ARRAY['a', $3])")).toEqual([
      { table: COLLECTION, keys: { region: [c('a'), p(3)] } },
    ]);
    expect(reads('SELECT * FROM appflow.connector_profiles WHERE region = ANY($1)')).toEqual([
      { table: COLLECTION, keys: { region: [{ kind: 'param', index: 1, array: true }] } },
    ]);
    expect(reads('SELECT * FROM appflow.connector_profiles WHERE region = ANY($1::text[])')).toEqual([
      { table: COLLECTION, keys: { region: [{ kind: 'param', index: 1, array: true }] } },
    ]);
    expect(
      reads(`SELECT * FROM appflow.connector_profiles WHERE region = ANY('{a,"b c",NULL}'::text[])`),
    ).toEqual([{ table: COLLECTION, keys: { region: [c('a'), c('b c')] } }]);
    expect(reads("SELECT * FROM appflow.connector_profiles WHERE 'x' OPERATOR(pg_catalog.=) region")).toEqual(
      [{ table: COLLECTION, keys: { region: [c('x')] } }],
    );
    expect(reads("SELECT * FROM appflow.connector_profiles WHERE region = 'x'::varchar")).toEqual([
      { table: COLLECTION, keys: { region: [c('x')] } },
    ]);
  });

  test.each([
    ["region = 'a' OR region = 'b'"],
    ["NOT (region = 'a')"],
    ["region <> 'a'"],
    ["region NOT IN ('a')"],
    ["region LIKE 'a%'"],
    ["region = 'a' || ''"],
    ["region = lower('A')"],
    ["region = 'abc'::varchar(2)"],
    ["region = 'a '::char(5)"],
    ["region::text = 'a'"],
    ['region = NULL'],
    ['region = connector_label'],
    ["region IN ('a', connector_label)"],
    ['region = ANY(SELECT 1)'],
    ["region IS NOT DISTINCT FROM 'a'"],
    ["(region = 'a') IS TRUE"],
    ["CASE WHEN true THEN region = 'a' END"],
    ['region = \'a\' COLLATE "C"'],
  ])('not pinned: WHERE %s', (where) => {
    expect(reads(`SELECT * FROM appflow.connector_profiles WHERE ${where}`)).toEqual([
      { table: COLLECTION, keys: {} },
    ]);
  });

  test('nested ANDs pin; an AND under an OR does not', () => {
    expect(
      reads(
        "SELECT * FROM appflow.connector_profile WHERE (region = 'r' AND (data__identifier = 'd' AND true)) AND 1 = 1",
      ),
    ).toEqual([{ table: RESOURCE, keys: { region: [c('r')], data__identifier: [c('d')] } }]);
    expect(
      reads(
        "SELECT * FROM appflow.connector_profile WHERE region = 'r' AND (data__identifier = 'd' OR false)",
      ),
    ).toEqual([{ table: RESOURCE, keys: { region: [c('r')] } }]);
  });

  test('joins with aliases: qualified columns pin their own reference', () => {
    expect(
      reads(
        `SELECT * FROM appflow.connector_profile p, appflow.connector_profiles l
         WHERE p.region = 'a' AND l.region = 'b' AND p.data__identifier = l.data__identifier`,
      ),
    ).toEqual([
      {
        table: RESOURCE,
        keys: {
          region: [c('a')],
          data__identifier: [rows(COLLECTION, `${COLLECTION} AS l`, 'l.data__identifier')],
        },
      },
      {
        table: COLLECTION,
        keys: {
          region: [c('b')],
          data__identifier: [rows(RESOURCE, `${RESOURCE} AS p`, 'p.data__identifier')],
        },
      },
    ]);
  });

  test('a key equal to an expression over one other catalog table is pinned by its rows', () => {
    const flows = 'appflow.flows';
    const profileOf = "f.source_flow_config ->> 'ConnectorProfileName'";
    expect(
      reads(
        `SELECT * FROM appflow.flows f JOIN appflow.connector_profile p
         ON p.data__identifier = f.source_flow_config->>'ConnectorProfileName' AND lower(f.region) = p.region`,
      ),
    ).toEqual([
      { table: flows, keys: {} },
      {
        table: RESOURCE,
        keys: {
          data__identifier: [rows(flows, `${flows} AS f`, profileOf)],
          region: [rows(flows, `${flows} AS f`, 'lower(f.region)')],
        },
      },
    ]);
    // Unaliased: the expression keeps its qualifier, the FROM item its name.
    expect(
      reads(
        'SELECT * FROM appflow.flows, appflow.connector_profile p WHERE p.data__identifier = flows.flow_name',
      )[1],
    ).toEqual({ table: RESOURCE, keys: { data__identifier: [rows(flows, flows, 'flows.flow_name')] } });
  });

  test('IN (SELECT ...), = ANY (SELECT ...) and = (SELECT ...) over one catalog table pin by its rows', () => {
    const flows = 'appflow.flows';
    const key = (from: string, expr: string) => ({ data__identifier: [rows(flows, from, expr)] });
    const pinned = (sql: string) => reads(sql).find((r) => r.table === RESOURCE)!.keys;
    expect(
      pinned(
        `SELECT * FROM appflow.connector_profile WHERE data__identifier IN
         (SELECT source_flow_config->>'ConnectorProfileName' FROM appflow.flows WHERE flow_name LIKE 'x%')`,
      ),
    ).toEqual(key(flows, "source_flow_config ->> 'ConnectorProfileName'"));
    expect(
      pinned(
        'SELECT * FROM appflow.connector_profile p WHERE p.data__identifier = ANY (SELECT g.flow_name FROM appflow.flows g)',
      ),
    ).toEqual(key(`${flows} AS g`, 'g.flow_name'));
    expect(
      pinned(
        'SELECT * FROM appflow.connector_profile p WHERE p.data__identifier = (SELECT max(flow_name) FROM appflow.flows)',
      ),
    ).toEqual({});
    expect(
      pinned(
        'SELECT * FROM appflow.connector_profile p WHERE p.data__identifier = (SELECT flow_name FROM appflow.flows LIMIT 1)',
      ),
    ).toEqual(key(flows, 'flow_name'));
  });

  test('unsure is unpinned: OR, NOT IN, volatile or unknown functions, parameters, outer references, two sources', () => {
    const unpinned = [
      `SELECT * FROM appflow.flows f JOIN appflow.connector_profile p ON p.data__identifier = f.flow_name OR p.region = 'a'`,
      `SELECT * FROM appflow.connector_profile p WHERE p.data__identifier NOT IN (SELECT flow_name FROM appflow.flows)`,
      `SELECT * FROM appflow.flows f JOIN appflow.connector_profile p ON p.data__identifier = f.flow_name || random()::text`,
      `SELECT * FROM appflow.flows f JOIN appflow.connector_profile p ON p.data__identifier = my_function(f.flow_name)`,
      `SELECT * FROM appflow.flows f JOIN appflow.connector_profile p ON p.data__identifier = f.flow_name || $1`,
      `SELECT * FROM appflow.flows f JOIN appflow.connector_profile p ON p.data__identifier = (f.flow_name || p.region)`,
      `SELECT * FROM appflow.flows f, appflow.connector_profiles l, appflow.connector_profile p WHERE p.data__identifier = f.flow_name || l.region`,
      `SELECT * FROM appflow.flows f WHERE EXISTS (SELECT 1 FROM appflow.connector_profile p WHERE p.data__identifier = f.flow_name)`,
      `SELECT * FROM appflow.connector_profile p WHERE p.data__identifier IN (SELECT flow_name FROM appflow.flows UNION SELECT 'x')`,
      `SELECT * FROM appflow.connector_profile p WHERE p.data__identifier IN (SELECT p.region FROM appflow.flows f)`,
      `SELECT * FROM appflow.connector_profile p WHERE p.data__identifier IN (SELECT f.flow_name FROM appflow.flows f, appflow.connector_profiles l)`,
      `SELECT * FROM appflow.connector_profile p LEFT JOIN appflow.flows f ON p.data__identifier = f.flow_name`,
      `SELECT * FROM appflow.flows f JOIN appflow.connector_profile p ON p.connector_profile_name = f.flow_name`,
    ];
    for (const sql of unpinned) {
      const profile = reads(sql).find((r) => r.table === RESOURCE)!;
      expect([sql, profile.keys]).toEqual([sql, {}]);
    }
  });

  test('an unqualified column shared by two catalog tables pins neither', () => {
    expect(
      reads("SELECT * FROM appflow.connector_profile, appflow.connector_profiles WHERE region = 'a'"),
    ).toEqual([
      { table: RESOURCE, keys: {} },
      { table: COLLECTION, keys: {} },
    ]);
  });

  test('an unqualified column next to a non-catalog relation is not pinned', () => {
    expect(reads("SELECT * FROM appflow.connector_profiles, other_t WHERE region = 'a'")).toEqual([
      { table: COLLECTION, keys: {} },
    ]);
    expect(reads("SELECT * FROM appflow.connector_profiles, (SELECT 1 AS x) s WHERE region = 'a'")).toEqual([
      { table: COLLECTION, keys: {} },
    ]);
    expect(
      reads("SELECT * FROM appflow.connector_profiles, generate_series(1, 2) g WHERE region = 'a'"),
    ).toEqual([{ table: COLLECTION, keys: {} }]);
    expect(reads("SELECT * FROM appflow.connector_profiles l, other_t o WHERE l.region = 'a'")).toEqual([
      { table: COLLECTION, keys: { region: [c('a')] } },
    ]);
  });

  test('qualification by table name, schema.table, aws.schema.table; an alias hides the table name', () => {
    expect(reads("SELECT * FROM appflow.connector_profiles WHERE connector_profiles.region = 'a'")).toEqual([
      { table: COLLECTION, keys: { region: [c('a')] } },
    ]);
    expect(reads("SELECT * FROM connector_profiles WHERE appflow.connector_profiles.region = 'a'")).toEqual([
      { table: COLLECTION, keys: { region: [c('a')] } },
    ]);
    expect(
      reads("SELECT * FROM connector_profiles WHERE aws.appflow.connector_profiles.region = 'a'"),
    ).toEqual([{ table: COLLECTION, keys: { region: [c('a')] } }]);
    expect(reads("SELECT * FROM appflow.connector_profiles l WHERE connector_profiles.region = 'a'")).toEqual(
      [{ table: COLLECTION, keys: {} }],
    );
    expect(reads("SELECT * FROM appflow.connector_profiles l WHERE other.region = 'a'")).toEqual([
      { table: COLLECTION, keys: {} },
    ]);
  });

  test('column aliases rename the columns: not pinned', () => {
    expect(reads("SELECT * FROM appflow.connector_profiles AS l(region) WHERE region = 'a'")).toEqual([
      { table: COLLECTION, keys: {} },
    ]);
  });

  test("inner JOIN ON pins both sides; an outer join's ON only the side it may leave out; WHERE pins through outer joins", () => {
    expect(
      reads(
        "SELECT * FROM appflow.connector_profiles l JOIN appflow.connector_profile p ON p.region = 'a' AND p.data__identifier = l.data__identifier",
      ),
    ).toEqual([
      {
        table: COLLECTION,
        keys: { data__identifier: [rows(RESOURCE, `${RESOURCE} AS p`, 'p.data__identifier')] },
      },
      {
        table: RESOURCE,
        keys: {
          region: [c('a')],
          data__identifier: [rows(COLLECTION, `${COLLECTION} AS l`, 'l.data__identifier')],
        },
      },
    ]);
    expect(
      reads(
        "SELECT * FROM appflow.connector_profiles l LEFT JOIN appflow.connector_profile p ON p.region = 'a' AND l.region = 'b'",
      ),
    ).toEqual([
      { table: COLLECTION, keys: {} },
      { table: RESOURCE, keys: { region: [c('a')] } },
    ]);
    expect(
      reads(
        "SELECT * FROM appflow.connector_profiles l RIGHT JOIN appflow.connector_profile p ON p.region = 'a' AND l.region = 'b'",
      ),
    ).toEqual([
      { table: COLLECTION, keys: { region: [c('b')] } },
      { table: RESOURCE, keys: {} },
    ]);
    expect(
      reads(
        "SELECT * FROM appflow.connector_profiles l FULL JOIN appflow.connector_profile p ON p.region = 'a' AND l.region = 'b'",
      ),
    ).toEqual([
      { table: COLLECTION, keys: {} },
      { table: RESOURCE, keys: {} },
    ]);
    expect(
      reads(
        "SELECT * FROM appflow.connector_profiles l LEFT JOIN appflow.connector_profile p USING (data__identifier) WHERE p.region = 'a' AND l.region = 'b'",
      ),
    ).toEqual([
      { table: COLLECTION, keys: { region: [c('b')] } },
      { table: RESOURCE, keys: { region: [c('a')] } },
    ]);
    expect(
      reads(
        "SELECT * FROM other_t o JOIN appflow.connector_profiles l ON region = 'a' CROSS JOIN appflow.connector_profile p",
      ),
    ).toEqual([
      { table: COLLECTION, keys: {} },
      { table: RESOURCE, keys: {} },
    ]);
    expect(
      reads(
        "SELECT * FROM (other_t o JOIN appflow.connector_profiles l ON true) JOIN other_u u ON l.region = 'a'",
      ),
    ).toEqual([{ table: COLLECTION, keys: { region: [c('a')] } }]);
  });

  test('a column merged by USING or NATURAL pins every side it merges, whatever the join', () => {
    for (const join of ['JOIN', 'LEFT JOIN', 'RIGHT JOIN', 'FULL JOIN'])
      expect(
        reads(
          `SELECT count(*) FROM appflow.connector_profiles a ${join} appflow.connector_profiles b USING (region) WHERE region = 'a'`,
        ),
      ).toEqual([
        { table: COLLECTION, keys: { region: [c('a')] } },
        { table: COLLECTION, keys: { region: [c('a')] } },
      ]);
    expect(
      reads(
        "SELECT 1 FROM appflow.connector_profiles a NATURAL JOIN appflow.connector_profile b WHERE region = 'a'",
      ),
    ).toEqual([
      { table: COLLECTION, keys: { region: [c('a')] } },
      { table: RESOURCE, keys: { region: [c('a')] } },
    ]);
    // Merged twice: the outer join's column is the inner one's too.
    expect(
      reads(
        `SELECT 1 FROM appflow.connector_profiles a JOIN appflow.connector_profiles b USING (region)
           JOIN appflow.connector_profile p USING (region) WHERE region = 'a'`,
      ),
    ).toEqual([
      { table: COLLECTION, keys: { region: [c('a')] } },
      { table: COLLECTION, keys: { region: [c('a')] } },
      { table: RESOURCE, keys: { region: [c('a')] } },
    ]);
    // Not merged: an unqualified name two tables have is ambiguous, and a join over an unknown table stays unsure.
    expect(
      reads(
        "SELECT 1 FROM appflow.connector_profiles a JOIN appflow.connector_profiles b USING (connector_type) WHERE region = 'a'",
      ),
    ).toEqual([
      { table: COLLECTION, keys: {} },
      { table: COLLECTION, keys: {} },
    ]);
    expect(
      reads("SELECT 1 FROM appflow.connector_profiles a JOIN other_t o USING (region) WHERE region = 'a'"),
    ).toEqual([{ table: COLLECTION, keys: {} }]);
  });

  test('a join alias hides the tables under it', () => {
    expect(
      reads(
        "SELECT * FROM (appflow.connector_profiles l JOIN other_t o ON true) AS j WHERE l.region = 'a' AND region = 'b'",
      ),
    ).toEqual([{ table: COLLECTION, keys: {} }]);
  });

  test('subqueries in FROM, WHERE and the select list each pin by their own WHERE', () => {
    expect(
      reads(
        `SELECT (SELECT count(*) FROM appflow.connector_profiles WHERE region = 'a'),
           s.* FROM (SELECT * FROM appflow.connector_profile WHERE region = 'b' AND data__identifier = 'x') s
         WHERE EXISTS (SELECT 1 FROM appflow.connector_profiles l2 WHERE l2.region = $1 AND l2.data__identifier = s.data__identifier)
           AND s.region = 'zzz'`,
      ),
    ).toEqual([
      { table: RESOURCE, keys: { region: [c('b')], data__identifier: [c('x')] } },
      { table: COLLECTION, keys: { region: [c('a')] } },
      { table: COLLECTION, keys: { region: [p(1)] } },
    ]);
  });

  test('an outer WHERE never pins a reference inside a subquery', () => {
    expect(reads("SELECT * FROM (SELECT * FROM appflow.connector_profiles) s WHERE region = 'a'")).toEqual([
      { table: COLLECTION, keys: {} },
    ]);
  });

  test('a correlated reference to the outer table does not pin the inner one', () => {
    expect(
      reads(
        "SELECT * FROM appflow.connector_profiles o WHERE o.region = 'a' AND EXISTS (SELECT 1 FROM other_t WHERE o.region = 'b')",
      ),
    ).toEqual([{ table: COLLECTION, keys: { region: [c('a')] } }]);
  });

  test('CTEs: bodies pin by their own WHERE; a CTE name shadows an unqualified table', () => {
    expect(
      reads(
        `WITH connector_profiles AS (SELECT * FROM appflow.connector_profiles WHERE region = 'a')
         SELECT * FROM connector_profiles WHERE region = 'b'`,
      ),
    ).toEqual([{ table: COLLECTION, keys: { region: [c('a')] } }]);
    expect(
      reads(
        `WITH connector_profiles AS (SELECT 1) SELECT * FROM connector_profiles, appflow.connector_profiles x WHERE x.region = 'c'`,
      ),
    ).toEqual([{ table: COLLECTION, keys: { region: [c('c')] } }]);
  });

  test('a non-recursive CTE sees only earlier CTEs; a recursive one sees itself', () => {
    expect(
      reads('WITH connector_profiles AS (SELECT * FROM connector_profiles) SELECT * FROM connector_profiles'),
    ).toEqual([{ table: COLLECTION, keys: {} }]);
    expect(
      reads(
        `WITH RECURSIVE connector_profiles(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM connector_profiles WHERE n < 3)
         SELECT * FROM connector_profiles`,
      ),
    ).toEqual([]);
    expect(
      reads(
        `WITH RECURSIVE r(id) AS (
           SELECT data__identifier FROM appflow.connector_profiles WHERE region = 'a'
           UNION SELECT l.data__identifier FROM r JOIN appflow.connector_profiles l ON l.connector_label = r.id)
         SELECT * FROM r`,
      ),
    ).toEqual([
      { table: COLLECTION, keys: { region: [c('a')] } },
      { table: COLLECTION, keys: {} },
    ]);
  });

  test('UNION / INTERSECT / EXCEPT: each branch separately', () => {
    expect(
      reads(
        `SELECT region FROM appflow.connector_profiles WHERE region = 'a'
         UNION SELECT region FROM appflow.connector_profile WHERE region = 'b' AND data__identifier = 'x'
         INTERSECT SELECT region FROM appflow.connector_profiles
         EXCEPT SELECT region FROM appflow.connector_profiles WHERE region = $1`,
      ),
    ).toEqual([
      { table: COLLECTION, keys: { region: [c('a')] } },
      { table: RESOURCE, keys: { region: [c('b')], data__identifier: [c('x')] } },
      { table: COLLECTION, keys: {} },
      { table: COLLECTION, keys: { region: [p(1)] } },
    ]);
  });

  test('EXPLAIN, DECLARE, PREPARE body, COPY (query)', () => {
    const expected = [{ table: COLLECTION, keys: { region: [c('a')] } }];
    const q = "SELECT * FROM appflow.connector_profiles WHERE region = 'a'";
    expect(reads(`EXPLAIN ANALYZE ${q}`)).toEqual(expected);
    expect(reads(`DECLARE c SCROLL CURSOR WITH HOLD FOR ${q}`)).toEqual(expected);
    expect(reads(`PREPARE s(text) AS ${q}`)).toEqual(expected);
    expect(reads(`COPY (${q}) TO STDOUT`)).toEqual(expected);
    expect(reads('COPY appflow.connector_profiles TO STDOUT')).toEqual([{ table: COLLECTION, keys: {} }]);
    expect(reads('COPY appflow.connector_profiles FROM STDIN')).toEqual([]);
  });

  test('INSERT ... SELECT reads the source, not the target; ON CONFLICT reads the target', () => {
    expect(
      reads(
        "INSERT INTO appflow.connector_profiles (region) SELECT region FROM appflow.connector_profile WHERE region = 'a' AND data__identifier = 'x'",
      ),
    ).toEqual([{ table: RESOURCE, keys: { region: [c('a')], data__identifier: [c('x')] } }]);
    expect(reads("INSERT INTO appflow.connector_profiles (region) VALUES ('a')")).toEqual([]);
    expect(
      reads("INSERT INTO appflow.connector_profiles (region) VALUES ('a') ON CONFLICT DO NOTHING"),
    ).toEqual([{ table: COLLECTION, keys: {} }]);
    expect(
      reads(
        "INSERT INTO t SELECT 1 WHERE EXISTS (SELECT 1 FROM appflow.connector_profiles WHERE region = 'b') RETURNING (SELECT 1 FROM appflow.connector_profile p WHERE p.region = 'c')",
      ),
    ).toEqual([
      { table: COLLECTION, keys: { region: [c('b')] } },
      { table: RESOURCE, keys: { region: [c('c')] } },
    ]);
  });

  test('UPDATE ... FROM and DELETE ... USING: the target is read and pinned by the WHERE', () => {
    expect(
      reads(
        "UPDATE appflow.connector_profile p SET connector_label = l.connector_label FROM appflow.connector_profiles l WHERE p.region = 'a' AND p.data__identifier = 'x' AND l.region = 'b'",
      ),
    ).toEqual([
      { table: RESOURCE, keys: { region: [c('a')], data__identifier: [c('x')] } },
      { table: COLLECTION, keys: { region: [c('b')] } },
    ]);
    expect(
      reads("DELETE FROM appflow.connector_profiles WHERE region = 'a' AND data__identifier IN ('x', 'y')"),
    ).toEqual([{ table: COLLECTION, keys: { region: [c('a')], data__identifier: [c('x'), c('y')] } }]);
    expect(
      reads(
        "DELETE FROM appflow.connector_profiles USING other_t o WHERE region = 'a' AND o.x = data__identifier",
      ),
    ).toEqual([{ table: COLLECTION, keys: {} }]);
    expect(reads('DELETE FROM appflow.connector_profiles WHERE CURRENT OF c')).toEqual([
      { table: COLLECTION, keys: {} },
    ]);
  });

  test('a DML target is never a CTE', () => {
    expect(
      reads("WITH connector_profiles AS (SELECT 1) DELETE FROM connector_profiles WHERE region = 'a'"),
    ).toEqual([{ table: COLLECTION, keys: { region: [c('a')] } }]);
  });

  test('data-modifying CTE', () => {
    expect(
      reads(
        "WITH d AS (DELETE FROM appflow.connector_profiles WHERE region = 'a' RETURNING *) SELECT * FROM d, appflow.connector_profile p WHERE p.region = 'b'",
      ),
    ).toEqual([
      { table: COLLECTION, keys: { region: [c('a')] } },
      { table: RESOURCE, keys: { region: [c('b')] } },
    ]);
  });

  test('MERGE reads the target unpinned and the source by its own WHERE', () => {
    expect(
      reads(
        `MERGE INTO appflow.connector_profiles t USING (SELECT * FROM appflow.connector_profile WHERE region = 'a') s
         ON t.region = 'a' AND t.data__identifier = s.data__identifier WHEN MATCHED THEN DELETE`,
      ),
    ).toEqual([
      { table: COLLECTION, keys: {} },
      { table: RESOURCE, keys: { region: [c('a')] } },
    ]);
  });

  test('FOR UPDATE OF, SELECT INTO, TABLESAMPLE and LATERAL', () => {
    expect(
      reads("SELECT * FROM appflow.connector_profiles WHERE region = 'a' FOR UPDATE OF connector_profiles"),
    ).toEqual([{ table: COLLECTION, keys: { region: [c('a')] } }]);
    expect(reads('SELECT * INTO connector_profile FROM appflow.connector_profiles')).toEqual([
      { table: COLLECTION, keys: {} },
    ]);
    expect(
      reads("SELECT * FROM appflow.connector_profiles TABLESAMPLE BERNOULLI (50) WHERE region = 'a'"),
    ).toEqual([{ table: COLLECTION, keys: {} }]);
    expect(
      reads(
        "SELECT * FROM appflow.connector_profiles l, LATERAL (SELECT * FROM appflow.connector_profile p WHERE p.region = l.region AND p.data__identifier = 'x') s WHERE l.region = 'a'",
      ),
    ).toEqual([
      { table: COLLECTION, keys: { region: [c('a')] } },
      { table: RESOURCE, keys: { data__identifier: [c('x')] } },
    ]);
  });

  test('a table referenced twice appears twice; two pins on one key keep the narrower', () => {
    expect(
      reads(
        "SELECT * FROM appflow.connector_profiles a JOIN appflow.connector_profiles b ON a.region = b.region WHERE a.region IN ('x', 'y') AND a.region = 'x'",
      ),
    ).toEqual([
      { table: COLLECTION, keys: { region: [c('x')] } },
      { table: COLLECTION, keys: { region: [rows(COLLECTION, `${COLLECTION} AS a`, 'a.region')] } },
    ]);
  });

  test('catalog queries read no catalog table', () => {
    expect(reads("SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'appflow'")).toEqual([]);
    expect(
      reads(`SELECT c.oid, n.nspname, c.relname FROM pg_catalog.pg_class c
       LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relname OPERATOR(pg_catalog.~) '^(connector_profile)$' COLLATE pg_catalog.default
         AND pg_catalog.pg_table_is_visible(c.oid) ORDER BY 2, 3`),
    ).toEqual([]);
    expect(reads("SELECT 'appflow.connector_profile'::regclass")).toEqual([]);
    expect(reads('SELECT * FROM information_schema.columns')).toEqual([]);
  });

  test('every catalog query clients send reads no catalog table', async () => {
    const { readFileSync } = await import('node:fs');
    const text = readFileSync('/work/shared/reference/client-traffic/introspection_sent.sql', 'utf8');
    const catalogQueries = text
      .split(/^-- .*$/m)
      .map((s) => s.trim())
      .filter((s) => /pg_catalog|information_schema|pg_class|pg_type/.test(s) && !/FROM appflow\./.test(s));
    expect(catalogQueries.length).toBeGreaterThan(5);
    for (const sql of catalogQueries) {
      const stmts = parseStatements(sql);
      for (const stmt of stmts) expect(tableReads(stmt, catalog)).toEqual([]);
    }
  });
});

describe('resolveKeys', () => {
  const read = (sql: string) => tableReads(one(sql), catalog)[0];

  test('constants and params', () => {
    const r = read(
      "SELECT * FROM appflow.connector_profile WHERE region = $1 AND data__identifier IN ($2, 'k', $2)",
    );
    expect(resolveKeys(r, ['us-east-1', 'x'])).toEqual({
      region: ['us-east-1'],
      data__identifier: ['x', 'k'],
    });
  });

  test('a null param pins to nothing; a missing param leaves the key unpinned', () => {
    const r = read('SELECT * FROM appflow.connector_profile WHERE region = $1 AND data__identifier = $2');
    expect(resolveKeys(r, [null, 'x'])).toEqual({ region: [], data__identifier: ['x'] });
    expect(resolveKeys(r, ['r'])).toEqual({ region: ['r'] });
  });

  test('an array param is parsed as a text array literal', () => {
    const r = read('SELECT * FROM appflow.connector_profiles WHERE region = ANY($1)');
    expect(resolveKeys(r, ['{us-east-1,"eu west",NULL,"q\\"x"}'])).toEqual({
      region: ['us-east-1', 'eu west', 'q"x'],
    });
    expect(resolveKeys(r, ['{}'])).toEqual({ region: [] });
    expect(resolveKeys(r, ['not an array'])).toEqual({});
    expect(resolveKeys(r, [null])).toEqual({ region: [] });
  });

  test('unpinned keys stay absent', () => {
    expect(resolveKeys(read('SELECT * FROM appflow.connector_profiles'), [])).toEqual({});
  });

  test('EXECUTE values feed the prepared query', () => {
    const prep = prepareOf(
      one(
        'PREPARE q(text, text) AS SELECT 1 FROM appflow.connector_profile WHERE region = $1 AND data__identifier = $2',
      ),
    );
    const exec = executeOf(one("EXECUTE q('eu-west-1', 'zendesk-support')"));
    expect(resolveKeys(tableReads(prep.query, catalog)[0], exec.values)).toEqual({
      region: ['eu-west-1'],
      data__identifier: ['zendesk-support'],
    });
  });
});

describe('parseArrayLiteral', () => {
  test.each([
    ['{a,b}', ['a', 'b']],
    ['{}', []],
    ['{ a , b }', ['a', 'b']],
    ['{"a,b","c\\\\d",null,"NULL"}', ['a,b', 'c\\d', null, 'NULL']],
    ['{{a,b},{c,d}}', ['a', 'b', 'c', 'd']],
    ['[1:2]={x,y}', ['x', 'y']],
  ])('%s', (text, expected) => {
    expect(parseArrayLiteral(text)).toEqual(expected);
  });

  test.each([['a,b'], ['{a,b'], ['{a}x'], ['{"a}'], ['{a"b}'], ['{a\\,b}']])('rejects %s', (text) => {
    expect(parseArrayLiteral(text)).toBeUndefined();
  });
});

describe('writeTarget', () => {
  const target = (sql: string) => {
    const t = writeTarget(one(sql), catalog);
    return t && { table: `${t.table.schema}.${t.table.name}`, kind: t.kind, nested: t.nested };
  };

  test('INSERT / UPDATE / DELETE / MERGE / COPY FROM / TRUNCATE', () => {
    expect(target("INSERT INTO appflow.connector_profiles (region) VALUES ('a')")).toEqual({
      table: COLLECTION,
      kind: 'insert',
      nested: false,
    });
    expect(target("UPDATE connector_profile SET connector_label = 'x' WHERE region = 'a'")).toMatchObject({
      table: RESOURCE,
      kind: 'update',
    });
    expect(target('DELETE FROM aws.appflow.connector_profiles')).toMatchObject({
      table: COLLECTION,
      kind: 'delete',
    });
    expect(
      target('MERGE INTO appflow.connector_profiles t USING other_t s ON true WHEN MATCHED THEN DELETE'),
    ).toMatchObject({ kind: 'merge' });
    expect(target('COPY appflow.connector_profiles FROM STDIN')).toMatchObject({ kind: 'insert' });
    expect(target('TRUNCATE appflow.connector_profiles')).toMatchObject({ kind: 'truncate' });
  });

  test('writes hidden in WITH and EXPLAIN ANALYZE are found; EXPLAIN alone and PREPARE do not write', () => {
    expect(target('WITH d AS (DELETE FROM appflow.connector_profiles RETURNING *) SELECT * FROM d')).toEqual({
      table: COLLECTION,
      kind: 'delete',
      nested: true,
    });
    expect(target('EXPLAIN ANALYZE DELETE FROM appflow.connector_profiles')).toMatchObject({ nested: true });
    expect(target('EXPLAIN DELETE FROM appflow.connector_profiles')).toBeUndefined();
    expect(target('PREPARE q AS DELETE FROM appflow.connector_profiles')).toBeUndefined();
  });

  test('no write for reads, other tables, and DML whose target is not a catalog table', () => {
    expect(target('SELECT * FROM appflow.connector_profiles')).toBeUndefined();
    expect(target('INSERT INTO t SELECT * FROM appflow.connector_profiles')).toBeUndefined();
    expect(target('COPY appflow.connector_profiles TO STDOUT')).toBeUndefined();
  });

  test('writeTargets lists every write, the statement own first', () => {
    const all = writeTargets(
      one(
        "WITH d AS (DELETE FROM appflow.connector_profiles WHERE region = 'a' RETURNING *) UPDATE appflow.connector_profile SET connector_label = 'x'",
      ),
      catalog,
    );
    expect(all.map((w) => [w.table.name, w.kind, w.nested])).toEqual([
      ['connector_profile', 'update', false],
      ['connector_profiles', 'delete', true],
    ]);
  });
});

function catchError(fn: () => unknown): PgError {
  try {
    fn();
  } catch (err) {
    return err as PgError;
  }
  throw new Error('expected an error');
}

describe('returnsNoRows: column probes of BI tools fetch nothing', () => {
  const probe = (sql: string) => returnsNoRows(parseStatements(sql)[0]!);
  test.each([
    'SELECT TRUE AS "_" FROM "appflow"."connector_profile" WHERE 1 <> 1 LIMIT 0',
    'SELECT * FROM appflow.connector_profile WHERE 1 = 0',
    'SELECT * FROM appflow.connector_profile WHERE false',
    'SELECT * FROM appflow.connector_profile LIMIT 0',
  ])('%s', (sql) => expect(probe(sql)).toBe(true));
  test.each([
    'SELECT * FROM appflow.connector_profile LIMIT 5',
    'SELECT * FROM appflow.connector_profile WHERE 1 = 1',
    'SELECT * FROM appflow.connector_profile WHERE true',
    "SELECT * FROM appflow.connector_profile WHERE region = 'x'",
    'SELECT * FROM appflow.connector_profile',
  ])('not %s', (sql) => expect(probe(sql)).toBe(false));
});

describe('fetchLimit: a plain LIMIT bounds how many rows of the one table are fetched', () => {
  const limitOf = (sql: string) => fetchLimit(parseStatements(sql)[0]!);
  test.each([
    ['SELECT * FROM appflow.connector_profile LIMIT 200', 200],
    [
      "SELECT connector_profile_name, region::text FROM appflow.connector_profile WHERE region = 'us-east-1' LIMIT 5",
      5,
    ],
    [
      "SELECT * FROM appflow.connector_profile p WHERE p.region IN ('a', 'b') AND region = ANY('{a}') LIMIT 3 OFFSET 2",
      5,
    ],
    [
      'SELECT "appflow"."connector_profile"."connector_type" AS "connector_type" FROM "appflow"."connector_profile" LIMIT 2000',
      2000,
    ],
  ])('%s -> %d', (sql, n) => expect(limitOf(sql)).toBe(n));
  test.each([
    'SELECT * FROM appflow.connector_profile',
    'SELECT * FROM appflow.connector_profile ORDER BY connector_profile_name LIMIT 5',
    'SELECT count(*) FROM appflow.connector_profile LIMIT 5',
    'SELECT DISTINCT connector_type FROM appflow.connector_profile LIMIT 5',
    "SELECT * FROM appflow.connector_profile WHERE connector_type = 'Slack' LIMIT 5",
    "SELECT * FROM appflow.connector_profile WHERE region = 'a' OR region = 'b' LIMIT 5",
    'SELECT upper(connector_type) FROM appflow.connector_profile LIMIT 5',
    'SELECT * FROM appflow.connector_profile a, appflow.connector_profiles b LIMIT 5',
    'SELECT * FROM appflow.connector_profile LIMIT 5 OFFSET $1',
    'SELECT * FROM appflow.connector_profile ORDER BY 1 FETCH FIRST 5 ROWS WITH TIES',
    'SELECT connector_type, row_number() OVER () FROM appflow.connector_profile LIMIT 5',
  ])('none for %s', (sql) => expect(limitOf(sql)).toBeUndefined());
});

describe('neededColumns: what a statement may read of each table, and when that is every column', () => {
  const needed = (sql: string) => {
    const stmt = one(sql);
    const tables = [...new Set(tableReads(stmt, catalog).map((r) => r.table))];
    const out = neededColumns(stmt.ast, tables);
    const first = out.get(tables[0]!);
    return first === 'all' ? 'all' : [...first!].sort();
  };
  test.each([
    ['SELECT connector_profile_name FROM appflow.connector_profiles', ['connector_profile_name']],
    ['SELECT count(*) FROM appflow.connector_profiles', []],
    [
      "SELECT p.connector_profile_name AS n FROM appflow.connector_profiles p WHERE region = 'x' ORDER BY n",
      ['connector_profile_name', 'region'],
    ],
    [
      'SELECT connector_profile_name FROM appflow.connector_profiles GROUP BY 1 HAVING count(connector_type) > 1',
      ['connector_profile_name', 'connector_type'],
    ],
    [
      'WITH x(name) AS (SELECT connector_profile_name FROM appflow.connector_profiles) SELECT name FROM x',
      ['connector_profile_name'],
    ],
    [
      'SELECT a.data__identifier FROM appflow.connector_profiles a JOIN appflow.connector_profiles b USING (connector_label)',
      ['connector_label', 'data__identifier'],
    ],
  ])('%s -> %j', (sql, columns) => expect(needed(sql)).toEqual(columns));
  test.each([
    'SELECT * FROM appflow.connector_profiles',
    'SELECT p.* FROM appflow.connector_profiles p',
    'SELECT to_jsonb(p) FROM appflow.connector_profiles p',
    'SELECT row_to_json(connector_profiles) FROM appflow.connector_profiles',
    'SELECT (p).connector_type FROM appflow.connector_profiles p',
    'SELECT 1 FROM appflow.connector_profiles NATURAL JOIN appflow.connector_profiles x',
    'SELECT ctid FROM appflow.connector_profiles',
    "DELETE FROM appflow.connector_profiles WHERE connector_type = 'Slack'",
    "UPDATE appflow.connector_profiles SET connector_label = 'x' WHERE region = 'a'",
    'COPY appflow.connector_profiles TO STDOUT',
    'EXPLAIN SELECT * FROM appflow.connector_profiles',
    'SELECT n FROM (SELECT connector_profile_name FROM appflow.connector_profiles) s(n), appflow.connector_profiles n',
  ])('%s -> every column', (sql) => expect(needed(sql)).toBe('all'));
});

describe('repeatability: which statements leave nothing a rollback does not undo (plain engine units)', () => {
  const volatile = {
    functions: new Set(['nextval', 'pg_advisory_lock', 'set_config', 'random']),
    operators: new Set<string>(),
  };
  const leavesNothing = (sql: string) => repeatability(one(sql), volatile).leavesNothing;

  test('SELECTs of stable and immutable functions leave nothing, even when they read the clock', () => {
    expect(leavesNothing('SELECT relname FROM pg_class WHERE oid = 42')).toBe(true);
    expect(leavesNothing("SELECT pg_catalog.format_type(1, 2), now(), 'now'::timestamptz")).toBe(true);
    expect(repeatability(one('SELECT now()'), volatile).reason).toBeDefined();
  });

  test('a volatile function anywhere, INTO, FOR UPDATE, a write or another kind of statement may leave something', () => {
    for (const sql of [
      "SELECT nextval('s')",
      'SELECT 1 FROM pg_class WHERE pg_catalog.pg_advisory_lock(oid::bigint) IS NULL',
      "SELECT * FROM (SELECT set_config('a.b', 'c', false)) s",
      'SELECT 1 INTO t',
      'SELECT 1 FROM pg_class FOR UPDATE',
      'WITH d AS (DELETE FROM t RETURNING 1) SELECT * FROM d',
      'SHOW search_path',
      'PREPARE p AS SELECT 1',
    ])
      expect([sql, leavesNothing(sql)]).toEqual([sql, false]);
  });
});

test('the parse cache holds a whole reflection: 1,000 catalog texts of 900 characters, each parsed once', () => {
  const columnsOf = (oid: number) =>
    `SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid) FROM pg_catalog.pg_attrdef d WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.atthasdef) AS "default", a.attnotnull, a.attrelid AS table_oid, pgd.description AS comment, a.attgenerated AS generated, (SELECT json_build_object('always', a.attidentity = 'a', 'start', s.seqstart, 'increment', s.seqincrement, 'minvalue', s.seqmin, 'maxvalue', s.seqmax, 'cache', s.seqcache, 'cycle', s.seqcycle) FROM pg_catalog.pg_sequence s, pg_catalog.pg_class c WHERE s.seqrelid = c."oid" AND c.relkind = 'S' AND a.attidentity != '' AND s.seqrelid = CAST(pg_catalog.pg_get_serial_sequence(CAST(CAST(a.attrelid AS REGCLASS) AS TEXT), a.attname) AS REGCLASS)) AS identity_options FROM pg_catalog.pg_attribute a LEFT JOIN pg_catalog.pg_description pgd ON (pgd.objoid = a.attrelid AND pgd.objsubid = a.attnum) WHERE a.attrelid = ${oid} AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`;
  const first = Array.from({ length: 1000 }, (_, i) => parseStatements(columnsOf(70000 + i)));
  const again = Array.from({ length: 1000 }, (_, i) => parseStatements(columnsOf(70000 + i)));
  expect(again.every((stmts, i) => stmts === first[i])).toBe(true);
});
