import { scanSync } from 'libpg-query';

/**
 * The parser reports locations as UTF-8 byte offsets while JavaScript strings index UTF-16 units,
 * so every cut of the query text goes through here.
 */
export class SourceText {
  readonly byteLength: number;
  private readonly bytes: Buffer | undefined;

  constructor(readonly text: string) {
    this.byteLength = Buffer.byteLength(text, 'utf8');
    // Pure-ASCII text (nearly every query) needs no conversion.
    this.bytes = this.byteLength === text.length ? undefined : Buffer.from(text, 'utf8');
  }

  slice(startByte: number, endByte: number): string {
    if (!this.bytes) return this.text.slice(startByte, endByte);
    return this.bytes.subarray(startByte, endByte).toString('utf8');
  }
}

export interface Token {
  /** Byte offsets into the scanned text. */
  start: number;
  end: number;
  /** Lower-cased token text. */
  text: string;
  keyword: boolean;
}

/** Tokens of `text` without comments. */
export function tokens(text: string): Token[] {
  return scanSync(text)
    .tokens.filter((t) => t.tokenName !== 'SQL_COMMENT' && t.tokenName !== 'C_COMMENT')
    .map((t) => ({ start: t.start, end: t.end, text: t.text.toLowerCase(), keyword: t.keywordKind !== 0 }));
}

/**
 * Cuts a statement's text out of the query and drops surrounding comments and whitespace: a trailing
 * `-- comment` would swallow whatever the session appends when it wraps or re-sends the text.
 */
export function statementText(source: SourceText, startByte: number, endByte: number): string {
  const raw = source.slice(startByte, endByte).trim();
  // The parser starts a statement at its first token, so only a trailing comment can remain.
  const lastLine = raw.slice(raw.lastIndexOf('\n') + 1);
  if (!raw.endsWith('*/') && !lastLine.includes('--') && !/^(--|\/\*)/.test(raw)) return raw;
  const toks = tokens(raw);
  if (toks.length === 0) return '';
  const own = new SourceText(raw);
  return own.slice(toks[0].start, toks[toks.length - 1].end);
}
