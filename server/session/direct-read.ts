import client from 'prom-client';
import type { Catalog } from '../../catalog/types.js';
import type { EngineUnit } from '../engine/engine.js';
import { registry } from '../metrics.js';
import type { ParsedStatement } from '../plan/parse.js';
import { pointReadShape, type PointReadShape } from '../plan/point-read-shape.js';
import type { ParamValues } from './load.js';
import type { Result } from './result.js';

/**
 * Direct point reads: a SELECT of columns of one AWS resource table where key columns equal text values
 * (plan/point-read-shape.ts) is answered by the session from the rows fetched for it, without an engine unit
 * (postMessage, the worker's wake-up, BEGIN, settings, loading the rows, the SELECT, the rollback: about 1.2 ms,
 * most of what the bridge adds to a GetResource). The answer is byte for byte the engine's: the row description
 * is the engine's own (it describes the statement without its WHERE, once per session and settings), and each value
 * is the engine's output for what the bridge would have loaded into it. Whatever cannot be shown identical
 * (a type whose output is not reproduced here, a number the engine would print otherwise, more than one row,
 * a string the engine would refuse) goes to the engine over the same fetched rows, as any other statement.
 */

/** What a direct read needs of the protocol: the declared parameter types and the parameter and result formats. */
export interface ProtocolFormats {
  paramTypes: readonly number[];
  paramFormats: readonly number[];
  resultFormats: readonly number[];
  /** The parameters' bytes as Bind sent them, for those sent in binary. */
  paramBytes?: readonly (Buffer | null)[];
}

/** A simple Query: no parameters, text results. */
export const simpleQueryFormats: ProtocolFormats = { paramTypes: [], paramFormats: [], resultFormats: [] };

const directReads = new client.Counter({
  name: 'aws_sql_bridge_direct_reads_total',
  help: 'Point reads of the direct shape: answered (by the session, no engine unit) or engine (left to the engine: a value, type or row count it does not reproduce)',
  labelNames: ['outcome'] as const,
  registers: [registry],
});
const answeredCount = directReads.labels('answered');
const engineCount = directReads.labels('engine');

const enum Oid {
  bool = 16,
  int8 = 20,
  int4 = 23,
  text = 25,
  varchar = 1043,
  numeric = 1700,
  unknown = 705,
  jsonb = 3802,
}

/** Parameter types a key column can be compared with as text: unspecified (the engine infers text), text, varchar. */
const textParamTypes = new Set<number>([0, Oid.text, Oid.varchar, Oid.unknown]);

export interface DirectRead {
  shape: PointReadShape;
  params: ParamValues;
  resultFormats: readonly number[];
}

/**
 * The direct read the statement can be, or undefined when it must run in the engine: not of the shape, parameters
 * sent in binary or declared of a type other than text, or not as many values as the statement has parameters
 * (the engine reports that).
 */
export function directRead(
  stmt: ParsedStatement,
  params: ParamValues,
  formats: ProtocolFormats,
  catalog: Catalog,
): DirectRead | undefined {
  const shape = pointReadShape(stmt, catalog);
  if (!shape) return undefined;
  const { paramTypes, paramFormats, resultFormats } = formats;
  if (params.length !== shape.params || paramTypes.length > shape.params) return undefined;
  if (paramTypes.some((t) => !textParamTypes.has(t))) return undefined;
  if (params.some((p) => p === undefined)) return undefined;
  if (paramFormats.length > 1 && paramFormats.length !== params.length) return undefined;
  for (let i = 0; i < params.length; i++) {
    const format = paramFormats.length === 1 ? paramFormats[0] : (paramFormats[i] ?? 0);
    if (format !== 0 && !sameText(params[i], formats.paramBytes?.[i], format)) return undefined;
  }
  return { shape, params, resultFormats };
}

/**
 * Whether a binary text parameter (asyncpg sends them so) is to the engine the text compared here: its bytes are
 * UTF-8 without NUL (else the engine refuses them) that decode to it.
 */
function sameText(
  text: string | null | undefined,
  bytes: Buffer | null | undefined,
  format: number,
): boolean {
  if (format !== 1 || bytes === undefined) return false;
  if (bytes === null) return text === null;
  return typeof text === 'string' && !bytes.includes(0) && Buffer.from(text, 'utf8').equals(bytes);
}

/**
 * The answer the engine would give, from the rows loaded for the statement and the engine's description of it;
 * undefined (counted) when some part of it is not provably the engine's.
 */
export function directAnswer(
  read: DirectRead,
  load: EngineUnit['load'],
  description: Buffer | null,
): Result | undefined {
  const answer = description ? answerOf(read, load, description) : undefined;
  (answer ? answeredCount : engineCount).inc();
  return answer;
}

function answerOf(read: DirectRead, load: EngineUnit['load'], description: Buffer): Result | undefined {
  const { shape, params, resultFormats } = read;
  const fields = fieldsOf(description);
  const count = shape.columns.length;
  if (fields.length !== count) return undefined;
  // The engine's names must be the columns read here (a rename shows its own name).
  for (let i = 0; i < count; i++)
    if (!shape.renamed[i] && fields[i]!.name !== shape.columns[i]) return undefined;
  const formats = columnFormats(resultFormats, count);
  if (!formats) return undefined;

  const tableName = `${shape.table.schema}.${shape.table.name}`;
  if (load.length !== 1 || load[0]!.table !== tableName) return undefined;
  const wanted = shape.conditions.map(({ column, value }) => ({
    column,
    text: value.kind === 'const' ? value.value : params[value.index - 1],
  }));
  const matching = load[0]!.rows.filter((row) =>
    wanted.every((w) => w.text != null && row[w.column] === w.text),
  );
  // The engine returns several rows in the order its heap gives them, which is not proven here to be the load's.
  if (matching.length > 1) return undefined;

  const rows: Buffer[] = [];
  for (const row of matching) {
    const values: Value[] = [];
    for (let i = 0; i < count; i++) {
      const value = encode(row[shape.columns[i]!], fields[i]!.typeOid, formats[i] === 1);
      if (value === unknownOutput) return undefined;
      values.push(value);
    }
    rows.push(dataRowOf(values));
  }
  return {
    description: formats.every((f) => f === 0) ? description : withFormats(description, fields, formats),
    rows,
    copy: [],
    tag: `SELECT ${rows.length}`,
    messages: [],
  };
}

interface Field {
  name: string;
  typeOid: number;
  /** Offset of the field's format code in the RowDescription frame. */
  formatAt: number;
}

/** Fields by description: a session's description of a statement is one Buffer, read once. */
const described = new WeakMap<Buffer, Field[]>();

function fieldsOf(description: Buffer): Field[] {
  let fields = described.get(description);
  if (!fields) described.set(description, (fields = readFields(description)));
  return fields;
}

function readFields(description: Buffer): Field[] {
  const fields: Field[] = [];
  let at = 7;
  for (let n = description.readInt16BE(5); n > 0; n--) {
    const end = description.indexOf(0, at);
    const name = description.toString('utf8', at, end);
    at = end + 1;
    fields.push({ name, typeOid: description.readInt32BE(at + 6), formatAt: at + 16 });
    at += 18;
  }
  return fields;
}

/** Bind's result formats per column, as PostgreSQL reads them; undefined when their count is wrong (an error there). */
function columnFormats(resultFormats: readonly number[], count: number): number[] | undefined {
  if (resultFormats.length === 0) return new Array<number>(count).fill(0);
  if (resultFormats.length === 1) return new Array<number>(count).fill(resultFormats[0]!);
  return resultFormats.length === count ? [...resultFormats] : undefined;
}

/** The engine's description with the portal's formats, as its Describe of the portal gives it. */
function withFormats(description: Buffer, fields: Field[], formats: number[]): Buffer {
  const out = Buffer.from(description);
  fields.forEach((f, i) => out.writeInt16BE(formats[i]!, f.formatAt));
  return out;
}

const unknownOutput = Symbol('unknown output');

/** A column's value: UTF-8 text (a string), bytes, or NULL. */
type Value = string | Buffer | null;

/** A DataRow frame of the values, written in one allocation. */
function dataRowOf(values: Value[]): Buffer {
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
function encode(value: unknown, typeOid: number, binary: boolean): Value | typeof unknownOutput {
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
