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
  const toks = tokens(outer.sql);
  const range = innerRange(nodeType(outer.ast), toks);
  if (range) {
    const text = new SourceText(outer.sql).slice(range[0], range[1]).trim();
    if (text !== '') return statementOf(inner, text);
  }
  return statementOf(inner, deparseSync([{ RawStmt: { stmt: inner } }] as never));
}

function innerRange(type: string, toks: Token[]): [number, number] | undefined {
  const end = toks.length > 0 ? toks[toks.length - 1].end : 0;
  const from = (i: number): [number, number] | undefined =>
    i >= 0 && i < toks.length ? [toks[i].start, end] : undefined;
  switch (type) {
    case 'DeclareCursorStmt':
      // FOR is reserved, so the first bare FOR ends the cursor options.
      return from(toks.findIndex((t) => t.keyword && t.text === 'for') + 1);
    case 'PrepareStmt':
      return from(findAtDepthZero(toks, 1, 'as') + 1);
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
