/**
 * The literals of a statement text, found without the parser: a catalog browser sends the same statement once per
 * table with only a literal changed (SQLAlchemy's `attrelid = 28347`, `relname = 'vpcs'`), and knowing that lets
 * the engine run it as one prepared statement (plan/literal-template.ts).
 *
 * A lexer for the few tokens that matter, as PostgreSQL's scanner reads them with standard_conforming_strings on:
 * comments (nested), quoted identifiers, dollar-quoted strings and prefixed strings (E'', B'', X'', N'', U&'') are
 * skipped whole and never taken as literals; plain quoted strings and unsigned decimal numbers are. Anything this
 * lexer cannot be sure of (a backslash anywhere, which standard_conforming_strings off would read as an escape; a
 * positional parameter; an unterminated quote or comment) gives no literals at all: the text then runs as it is.
 */

/** What a parameter standing for the literal is declared as: PostgreSQL's own type for a numeric literal's form. */
export type LiteralType = 'int4' | 'int8' | 'numeric' | 'unknown';

export interface Literal {
  /** UTF-16 offsets of the literal in the text, quotes included. */
  start: number;
  end: number;
  /** Its value as a parameter's text: a string without its quotes (and '' made '), a number's digits. */
  value: string;
  type: LiteralType;
}

export interface LiteralScan {
  /** The text with each literal replaced by a marker of its type: texts differing only in literals share it. */
  shape: string;
  literals: Literal[];
}

const INT4_MAX = 2147483647n;
const INT8_MAX = 9223372036854775807n;

/** ASCII letters, digits, _ and $, or any non-ASCII character: what continues an identifier or a number's tail. */
function identChar(code: number): boolean {
  return (
    (code >= 0x61 && code <= 0x7a) ||
    (code >= 0x41 && code <= 0x5a) ||
    (code >= 0x30 && code <= 0x39) ||
    code === 0x5f ||
    code === 0x24 ||
    code >= 0x80
  );
}

function identStart(code: number): boolean {
  return (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || code === 0x5f || code >= 0x80;
}

const isDigit = (code: number) => code >= 0x30 && code <= 0x39;
/** PostgreSQL's whitespace: space, tab, newline, carriage return, form feed (and vertical tab). */
const space = (code: number) => code === 0x20 || (code >= 0x09 && code <= 0x0d);

function numberType(text: string): LiteralType {
  if (!/^[0-9]+$/.test(text)) return 'numeric';
  const value = BigInt(text);
  return value <= INT4_MAX ? 'int4' : value <= INT8_MAX ? 'int8' : 'numeric';
}

/** The literals of `sql`, or undefined when the lexer cannot be sure of them. */
export function scanLiterals(sql: string): LiteralScan | undefined {
  if (sql.includes('\\')) return undefined;
  const literals: Literal[] = [];
  const n = sql.length;
  let i = 0;
  /** The last token, where it matters: BY, a comma, an opening parenthesis (listItem). */
  let prev: Prev = '';
  while (i < n) {
    const c = sql.charCodeAt(i);
    if (c === 0x2d && sql.charCodeAt(i + 1) === 0x2d) {
      // -- comment, to the end of the line.
      const eol = sql.indexOf('\n', i);
      i = eol < 0 ? n : eol + 1;
    } else if (c === 0x2f && sql.charCodeAt(i + 1) === 0x2a) {
      // /* comment */, nested as PostgreSQL nests them.
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql.startsWith('/*', i)) {
          depth++;
          i += 2;
        } else if (sql.startsWith('*/', i)) {
          depth--;
          i += 2;
        } else i++;
      }
      if (depth > 0) return undefined;
    } else if (c === 0x22) {
      // "quoted identifier", "" inside.
      const end = closingQuote(sql, i, '"');
      if (end < 0) return undefined;
      i = end;
      prev = '';
    } else if (c === 0x27) {
      const end = closingQuote(sql, i, "'");
      if (end < 0) return undefined;
      // A letter, digit or & right before the quote makes it E'', B'', X'', N'', U&'' or part of an identifier
      // the lexer would not split: kept as it is.
      const before = i > 0 ? sql.charCodeAt(i - 1) : 0x20;
      if (
        !identChar(before) &&
        before !== 0x26 &&
        !identChar(sql.charCodeAt(end)) &&
        !listItem(sql, prev, end)
      )
        literals.push({
          start: i,
          end,
          value: sql.slice(i + 1, end - 1).replaceAll("''", "'"),
          type: 'unknown',
        });
      i = end;
      prev = '';
    } else if (c === 0x24) {
      if (isDigit(sql.charCodeAt(i + 1))) return undefined; // $1: a statement with parameters already
      // $tag$ ... $tag$ (tag possibly empty).
      let j = i + 1;
      while (j < n && identChar(sql.charCodeAt(j)) && sql.charCodeAt(j) !== 0x24) j++;
      if (sql.charCodeAt(j) !== 0x24 || (j > i + 1 && !identStart(sql.charCodeAt(i + 1)))) return undefined;
      const tag = sql.slice(i, j + 1);
      const close = sql.indexOf(tag, j + 1);
      if (close < 0) return undefined;
      i = close + tag.length;
      prev = '';
    } else if (identStart(c)) {
      const start = i;
      i++;
      while (i < n && identChar(sql.charCodeAt(i))) i++;
      prev = i - start === 2 && sql.slice(start, i).toLowerCase() === 'by' ? 'by' : '';
    } else if (isDigit(c) || (c === 0x2e && isDigit(sql.charCodeAt(i + 1)))) {
      const start = i;
      while (i < n && isDigit(sql.charCodeAt(i))) i++;
      let plain = true;
      if (sql.charCodeAt(i) === 0x2e) {
        // 1..5 and the like: not a plain number.
        if (sql.charCodeAt(i + 1) === 0x2e) plain = false;
        i++;
        while (i < n && isDigit(sql.charCodeAt(i))) i++;
      }
      // An exponent, 0x1F, 1_000, 12abc: kept as they are.
      while (i < n && (identChar(sql.charCodeAt(i)) || sql.charCodeAt(i) === 0x2e)) {
        plain = false;
        i++;
      }
      const before = start > 0 ? sql.charCodeAt(start - 1) : 0x20;
      if (plain && !identChar(before) && !listItem(sql, prev, i) && !negatedLimit(sql, start, i)) {
        const value = sql.slice(start, i);
        literals.push({ start, end: i, value, type: numberType(value) });
      }
      prev = '';
    } else {
      prev = c === 0x2c ? ',' : c === 0x28 ? '(' : space(c) ? prev : '';
      i++;
    }
  }
  let shape = '';
  let at = 0;
  for (const literal of literals) {
    shape += `${sql.slice(at, literal.start)}\u0000${literal.type}\u0000`;
    at = literal.end;
  }
  return { shape: shape + sql.slice(at), literals };
}

type Prev = 'by' | ',' | '(' | '';

/**
 * `-2147483648` is an integer and `-9223372036854775808` a bigint to PostgreSQL, which negates the constant before
 * typing it; as `-$1` the parameter would be typed by the unsigned value (bigint, numeric). A minus before either
 * keeps the number as it is.
 */
function negatedLimit(sql: string, start: number, end: number): boolean {
  const digits = sql.slice(start, end);
  if (!/^[0-9]+$/.test(digits)) return false;
  const value = BigInt(digits);
  if (value !== INT4_MAX + 1n && value !== INT8_MAX + 1n) return false;
  let j = start - 1;
  while (j >= 0 && space(sql.charCodeAt(j))) j--;
  return sql.charCodeAt(j) === 0x2d;
}

/**
 * Whether a literal ending at `end` after `prev` may be a whole item of a list: `ORDER BY 2`, `GROUP BY x, 1`,
 * `DISTINCT ON (1)` name an output column by its position, which a parameter would not (`ORDER BY $1` sorts by a
 * constant), and `ORDER BY 'a'` is an error that `ORDER BY $1` is not. Told lexically, so also an argument
 * (`f(1)`) or an IN list stays as it is: less reuse, never another answer.
 */
function listItem(sql: string, prev: Prev, end: number): boolean {
  if (prev === '') return false;
  let j = end;
  while (j < sql.length && space(sql.charCodeAt(j))) j++;
  if (j >= sql.length) return true;
  const next = sql.charCodeAt(j);
  // , ) ; a keyword (DESC, NULLS, LIMIT...), or a comment.
  return (
    next === 0x2c || next === 0x29 || next === 0x3b || identStart(next) || next === 0x2d || next === 0x2f
  );
}

/** The index just past the quote closing the one at `open` (a doubled quote is one inside), or -1. */
function closingQuote(sql: string, open: number, quote: string): number {
  let i = open + 1;
  for (;;) {
    const q = sql.indexOf(quote, i);
    if (q < 0) return -1;
    if (sql[q + 1] === quote) i = q + 2;
    else return q + 1;
  }
}
