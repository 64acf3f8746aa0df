import { deparseSync } from 'pgsql-parser';
import { nodeType } from './kinds.js';
import { statementOf, type ParsedStatement } from './parse.js';
import { SourceText, tokens, type Token } from './text.js';

/**
 * The query inside DECLARE, PREPARE, EXPLAIN or COPY (...) as a statement of its own. The parser gives
 * the inner node no location, so its text is found from the tokens around it; the user's own text is
 * what the engine should run, so deparsing is only the fallback.
 */
export function nestedStatement(outer: ParsedStatement, inner: Record<string, unknown>): ParsedStatement {
  const type = nodeType(outer.ast);
  // Scanning costs more than parsing; the usual spellings are recognized by their prefix alone.
  const prefix = FAST_PREFIX[type]?.exec(outer.sql);
  if (prefix && prefix[0].length < outer.sql.length)
    return statementOf(inner, outer.sql.slice(prefix[0].length));
  const toks = tokens(outer.sql);
  const range = innerRange(type, toks);
  if (range) {
    const text = new SourceText(outer.sql).slice(range[0], range[1]).trim();
    if (text !== '') return statementOf(inner, text);
  }
  return statementOf(inner, deparseSync(inner as never, { pretty: false }).trim());
}

const NAME = String.raw`(?:[A-Za-z_\u0080-\uffff][\w$\u0080-\uffff]*|"(?:[^"]|"")+")`;

// The query itself starts with a keyword or a parenthesis, never with a comment.
const QUERY = '(?=[a-z(])';

/** Prefixes without comments, quotes or nested parentheses beyond a type modifier; anything else is scanned. */
const FAST_PREFIX: Record<string, RegExp> = {
  DeclareCursorStmt: new RegExp(
    String.raw`^declare\s+${NAME}\s+(?:(?:binary|asensitive|insensitive|no|scroll)\s+)*cursor\s+(?:with(?:out)?\s+hold\s+)?for\s+${QUERY}`,
    'i',
  ),
  PrepareStmt: new RegExp(
    String.raw`^prepare\s+${NAME}\s*(?:\((?:[^()'"\-/]|\([^()'"\-/]*\))*\))?\s*as\s+${QUERY}`,
    'i',
  ),
  // A parenthesis after EXPLAIN may open options or a query: the scan decides those.
  ExplainStmt: new RegExp(
    String.raw`^explain\s*(?:\((?!\s*(?:(?:select|with|values|table)\b|\())[^()'"\-/]*\)\s*|\s(?:(?:analy[sz]e|verbose)\s+)*)(?!(?:analy[sz]e|verbose)\b)(?=[a-z])`,
    'i',
  ),
};

function innerRange(type: string, toks: Token[]): [number, number] | undefined {
  const end = toks.length > 0 ? toks[toks.length - 1].end : 0;
  const from = (i: number): [number, number] | undefined =>
    i >= 0 && i < toks.length ? [toks[i].start, end] : undefined;
  const after = (i: number) => (i < 0 ? undefined : from(i + 1));
  switch (type) {
    case 'DeclareCursorStmt':
      // FOR is reserved, so the first bare FOR ends the cursor options.
      return after(toks.findIndex((t) => t.keyword && t.text === 'for'));
    case 'PrepareStmt':
      return after(findAtDepthZero(toks, 1, 'as'));
    case 'ExplainStmt':
      return from(explainQueryStart(toks));
    case 'CopyStmt': {
      if (toks[1]?.text !== '(') return undefined;
      const close = matchingParen(toks, 1);
      return close > 1 ? [toks[2].start, toks[close - 1].end] : undefined;
    }
    default:
      return undefined;
  }
}

const QUERY_STARTS = new Set(['select', 'with', 'values', 'table', '(']);

function explainQueryStart(toks: Token[]): number {
  let i = 1;
  // `EXPLAIN (opts) q` versus `EXPLAIN (SELECT ...)`: an options list never starts like a query.
  if (toks[i]?.text === '(' && !QUERY_STARTS.has(toks[i + 1]?.text ?? '')) i = matchingParen(toks, i) + 1;
  while (['analyze', 'analyse', 'verbose'].includes(toks[i]?.text ?? '')) i++;
  return i;
}

function findAtDepthZero(toks: Token[], from: number, text: string): number {
  let depth = 0;
  for (let i = from; i < toks.length; i++) {
    const t = toks[i].text;
    if (t === '(' || t === '[') depth++;
    else if (t === ')' || t === ']') depth--;
    else if (depth === 0 && t === text && toks[i].keyword) return i;
  }
  return -1;
}

/** Index of the `)` that closes the `(` at `open`, or -1. */
function matchingParen(toks: Token[], open: number): number {
  let depth = 0;
  for (let i = open; i < toks.length; i++) {
    if (toks[i].text === '(') depth++;
    else if (toks[i].text === ')' && --depth === 0) return i;
  }
  return -1;
}
