import { scanLiterals } from '../server/plan/literals.js';
import { literalTemplate } from '../server/plan/literal-template.js';

/** The literals a statement's reuse may turn into parameters (server/plan/literals.ts), and those it must not. */
const values = (sql: string) => scanLiterals(sql)?.literals.map((l) => [l.value, l.type]);

test('plain strings and unsigned decimal numbers are literals, with their types by form', () => {
  expect(
    values("SELECT a FROM t WHERE x = 'it''s' AND y = 42 AND z > 3000000000 AND w < 1.5 AND v = .5"),
  ).toEqual([
    ["it's", 'unknown'],
    ['42', 'int4'],
    ['3000000000', 'int8'],
    ['1.5', 'numeric'],
    ['.5', 'numeric'],
  ]);
  expect(values('SELECT a FROM t WHERE n = 99999999999999999999')).toEqual([
    ['99999999999999999999', 'numeric'],
  ]);
});

test('a negated 2147483648 or 9223372036854775808 keeps its form: PostgreSQL types it with its sign', () => {
  expect(
    values('SELECT -2147483648, - 9223372036854775808, 1 + 2147483648, -2147483649, -9223372036854775809'),
  ).toEqual([
    ['1', 'int4'],
    ['2147483648', 'int8'],
    ['2147483649', 'int8'],
    ['9223372036854775809', 'numeric'],
  ]);
});

test('comments, quoted identifiers, dollar quotes and prefixed strings are never literals', () => {
  expect(
    values(
      `SELECT "a 'b' 1" FROM t -- x = 'c' 2
       WHERE /* 'd' /* 3 */ 'e' */ x = $$ 'f' 4 $$ AND y = $tag$ 5 $tag$ AND z = E'g' AND b = B'01'
       AND h = X'1F' AND n = N'i' AND u = U&'j' AND t1 = 7 AND k = 1e5 AND m = 0x1F AND o = 1_000`,
    ),
  ).toEqual([['7', 'int4']]);
});

test('positions and list items stay as they are: ORDER BY 1, GROUP BY, DISTINCT ON, IN lists, arguments', () => {
  expect(
    values(
      "SELECT DISTINCT ON (1) a, f(2), g('x', 3) FROM t WHERE k IN (4, 5) AND v = 6 GROUP BY 1, 2 ORDER BY 2 DESC, 1",
    ),
  ).toEqual([['6', 'int4']]);
});

test('a text the lexer cannot be sure of has no literals', () => {
  for (const sql of [
    "SELECT 'a\\'b'",
    'SELECT $1',
    "SELECT 'unterminated",
    'SELECT 1 /* open',
    'SELECT "open',
    'SELECT $x$ open',
  ])
    expect(scanLiterals(sql)).toBeUndefined();
});

test('only the literals that differ from the first text of the shape become parameters', () => {
  const text = (table: string, oid: number) =>
    `SELECT json_build_object('always', 1) FROM pg_attribute WHERE attrelid = ${oid} AND nsp = 'ec2' AND rel = '${table}' AND attnum > 0`;
  expect(literalTemplate(text('vpcs', 16385))).toBeUndefined();
  expect(literalTemplate(text('subnets', 16390))).toEqual({
    text: "SELECT json_build_object('always', 1) FROM pg_attribute WHERE attrelid = $1 AND nsp = 'ec2' AND rel = $2 AND attnum > 0",
    types: ['int4', 'unknown'],
    values: ['16390', 'subnets'],
  });
  // The same text again: a statement without parameters.
  expect(literalTemplate(text('vpcs', 16385))).toEqual({ text: text('vpcs', 16385), types: [], values: [] });
});
