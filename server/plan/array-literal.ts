/**
 * Elements of a PostgreSQL text-array literal such as `{a,"b c",NULL}`, flattened across dimensions
 * (`= ANY` compares against every element). null stands for SQL NULL. Returns undefined when the text
 * is not a well-formed array literal, so the caller can refuse to pin instead of guessing.
 */
export function parseArrayLiteral(text: string): (string | null)[] | undefined {
  let s = text.trim();
  // Optional dimension decoration: `[1:2]={a,b}`.
  const decoration = /^(\[[^\]]*\])+\s*=\s*/.exec(s);
  if (decoration) s = s.slice(decoration[0].length);
  if (!s.startsWith('{')) return undefined;
  const out: (string | null)[] = [];
  let depth = 0;
  let i = 0;
  let expectElement = false;
  while (i < s.length) {
    const ch = s[i];
    if (ch === '{') {
      depth++;
      i++;
      expectElement = true;
    } else if (ch === '}') {
      if (depth === 0) return undefined;
      depth--;
      i++;
      expectElement = false;
      if (depth === 0) return s.slice(i).trim() === '' ? out : undefined;
    } else if (ch === ',') {
      i++;
      expectElement = true;
    } else if (/\s/.test(ch)) {
      i++;
    } else {
      if (!expectElement || depth === 0) return undefined;
      const element = readElement(s, i);
      if (!element) return undefined;
      out.push(element.value);
      i = element.end;
      expectElement = false;
    }
  }
  return undefined;
}

function readElement(s: string, start: number): { value: string | null; end: number } | undefined {
  let i = start;
  if (s[i] === '"') {
    let value = '';
    i++;
    while (i < s.length && s[i] !== '"') {
      if (s[i] === '\\') i++;
      if (i >= s.length) return undefined;
      value += s[i++];
    }
    return i < s.length ? { value, end: i + 1 } : undefined;
  }
  let raw = '';
  while (i < s.length && s[i] !== ',' && s[i] !== '}') {
    // Escapes in unquoted elements interact with whitespace trimming; too rare to be worth the risk.
    if (s[i] === '"' || s[i] === '{' || s[i] === '\\') return undefined;
    raw += s[i++];
  }
  const value = raw.trim();
  if (value.toUpperCase() === 'NULL') return { value: null, end: i };
  return { value, end: i };
}
