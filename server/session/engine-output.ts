/**
 * PostgreSQL's output of the values the bridge loads into the engine (each row goes through JSON.stringify and
 * jsonb_populate_recordset), in text and binary formats, for the direct point reads (direct-read.ts): only where it
 * is provably the engine's output, else unknownOutput.
 */

/** The type OIDs whose output is reproduced here (and unknown, a parameter's type before the engine infers it). */
export const Oid = {
  bool: 16,
  int8: 20,
  int4: 23,
  text: 25,
  varchar: 1043,
  numeric: 1700,
  unknown: 705,
  jsonb: 3802,
} as const;

/** What encode() gives for a value whose output is not provably the engine's. */
export const unknownOutput = Symbol('unknown output');

/** A column's value: UTF-8 text (a string), bytes, or NULL. */
export type Value = string | Buffer | null;

/** A DataRow frame of the values, written in one allocation. */
export function dataRowOf(values: Value[]): Buffer {
  let length = 4 + 2;
  for (const v of values)
    length += 4 + (v === null ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length);
  const out = Buffer.allocUnsafe(1 + length);
  out[0] = 0x44; // 'D'
  out.writeInt32BE(length, 1);
  out.writeInt16BE(values.length, 5);
  let at = 7;
  for (const v of values) {
    if (v === null) {
      out.writeInt32BE(-1, at);
      at += 4;
    } else if (typeof v === 'string') {
      const written = out.write(v, at + 4, 'utf8');
      out.writeInt32BE(written, at);
      at += 4 + written;
    } else {
      out.writeInt32BE(v.length, at);
      v.copy(out, at + 4);
      at += 4 + v.length;
    }
  }
  return out;
}

/**
 * PostgreSQL's output of a value as the bridge loads it (a row's value goes to the engine through JSON.stringify and
 * jsonb_populate_recordset), in text or binary; unknownOutput when it cannot be shown identical here.
 */
export function encode(value: unknown, typeOid: number, binary: boolean): Value | typeof unknownOutput {
  if (value === null || value === undefined) return null;
  switch (typeOid) {
    case Oid.text:
    case Oid.varchar:
      return typeof value === 'string' && loadableString(value) ? value : unknownOutput;
    case Oid.bool:
      if (typeof value !== 'boolean') return unknownOutput;
      return binary ? Buffer.of(value ? 1 : 0) : value ? 't' : 'f';
    case Oid.int8:
    case Oid.int4: {
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) return unknownOutput;
      if (typeOid === Oid.int4 && (value < -2147483648 || value > 2147483647)) return unknownOutput;
      if (!binary) return String(value);
      const out = Buffer.alloc(typeOid === Oid.int8 ? 8 : 4);
      if (typeOid === Oid.int8) out.writeBigInt64BE(BigInt(value));
      else out.writeInt32BE(value);
      return out;
    }
    case Oid.numeric: {
      const text = numberText(value);
      if (text === undefined) return unknownOutput;
      return binary ? numericBinary(text) : text;
    }
    case Oid.jsonb: {
      const text = jsonbText(value, 0);
      if (text === undefined) return unknownOutput;
      return binary ? Buffer.concat([versionOne, Buffer.from(text, 'utf8')]) : text;
    }
    default:
      return unknownOutput;
  }
}

/**
 * numeric_send of the value numeric_in makes of a plain decimal (no exponent): base-10000 digits grouped from the
 * decimal point, leading and trailing zero groups stripped (as numeric stores it), the weight of the first, the
 * sign, and the display scale (the digits written after the point).
 */
function numericBinary(text: string): Buffer {
  const negative = text.startsWith('-');
  const [whole = '', fraction = ''] = (negative ? text.slice(1) : text).split('.');
  const wholeDigits = whole.padStart(Math.ceil(whole.length / 4) * 4, '0');
  const fractionDigits = fraction.padEnd(Math.ceil(fraction.length / 4) * 4, '0');
  const groups: number[] = [];
  for (let i = 0; i < wholeDigits.length; i += 4) groups.push(Number(wholeDigits.slice(i, i + 4)));
  for (let i = 0; i < fractionDigits.length; i += 4) groups.push(Number(fractionDigits.slice(i, i + 4)));
  let weight = wholeDigits.length / 4 - 1;
  let first = 0;
  while (first < groups.length && groups[first] === 0) {
    first++;
    weight--;
  }
  let end = groups.length;
  while (end > first && groups[end - 1] === 0) end--;
  const digits = groups.slice(first, end);
  // Zero: no digits, weight 0, positive.
  const zero = digits.length === 0;
  const out = Buffer.alloc(8 + 2 * digits.length);
  out.writeInt16BE(digits.length, 0);
  out.writeInt16BE(zero ? 0 : weight, 2);
  out.writeUInt16BE(negative && !zero ? 0x4000 : 0, 4);
  out.writeUInt16BE(fraction.length, 6);
  digits.forEach((d, i) => out.writeInt16BE(d, 8 + 2 * i));
  return out;
}

/** jsonb's binary format: a version byte, then the text. */
const versionOne = Buffer.of(1);

/** Deeper than this, the engine's own limits could refuse the value: leave it to the engine. */
const maxDepth = 64;

/**
 * jsonb's text output (JsonbToCString) of a JSON value: object keys ordered by their length in bytes, then bytewise
 * (JS objects hold no duplicate keys: JSON.parse kept the last, as jsonb does), `": "` and `", "` between.
 */
function jsonbText(value: unknown, depth: number): string | undefined {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return numberText(value);
    case 'string':
      return stringText(value);
    case 'object': {
      if (depth >= maxDepth) return undefined;
      if (Array.isArray(value)) {
        const items: string[] = [];
        for (const item of value) {
          const text = jsonbText(item, depth + 1);
          if (text === undefined) return undefined;
          items.push(text);
        }
        return `[${items.join(', ')}]`;
      }
      const entries: { key: Buffer; text: string }[] = [];
      for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
        const keyText = stringText(key);
        const text = jsonbText(item, depth + 1);
        if (keyText === undefined || text === undefined) return undefined;
        entries.push({ key: Buffer.from(key, 'utf8'), text: `${keyText}: ${text}` });
      }
      entries.sort((a, b) => a.key.length - b.key.length || Buffer.compare(a.key, b.key));
      return `{${entries.map((e) => e.text).join(', ')}}`;
    }
    default:
      return undefined;
  }
}

/**
 * A number as numeric_out prints what JSON.stringify gave the engine: the same digits, unless JSON.stringify wrote
 * an exponent (1e+21, 1e-7), which numeric expands.
 */
function numberText(value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
  const text = JSON.stringify(value);
  return /[eE]/.test(text) ? undefined : text;
}

/**
 * A string as escape_json writes it, which is JSON.stringify's escaping for a string the engine loads at all: jsonb
 * refuses \u0000 and a lone surrogate (JSON.stringify escapes those).
 */
function stringText(value: string): string | undefined {
  return loadableString(value) ? JSON.stringify(value) : undefined;
}

/** A surrogate not in a pair. */
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Whether the engine loads the string: jsonb refuses a NUL (\u0000) and a lone surrogate. */
function loadableString(value: string): boolean {
  return !value.includes('\u0000') && !loneSurrogate.test(value);
}
