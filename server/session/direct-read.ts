import client from 'prom-client';
import type { Catalog } from '../../catalog/types.js';
import type { EngineUnit } from '../engine/engine.js';
import * as metrics from '../metrics.js';
import type { ParsedStatement } from '../plan/parse.js';
import { pointReadShape, type PointReadShape } from '../plan/point-read-shape.js';
import type { ParamValues } from './load.js';
import type { Result } from './result.js';
import { dataRowOf, encode, Oid, unknownOutput, type Value } from './engine-output.js';

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
  registers: [metrics.registry],
});
const answeredCount = directReads.labels('answered');
const engineCount = directReads.labels('engine');

/** Parameter types a key column can be compared with as text: unspecified (the engine infers text), text, varchar. */
const textParamTypes = new Set<number>([0, Oid.text, Oid.varchar, Oid.unknown]);

export interface DirectRead {
  shape: PointReadShape;
  params: ParamValues;
  resultFormats: readonly number[];
}

/**
 * The direct read the statement can be, or undefined when it must run in the engine: not of the shape, parameters
 * declared of a type other than text or sent in binary other than as their UTF-8 text, or not as many values as the
 * statement has parameters (the engine reports that).
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
  metrics.later(() => (answer ? answeredCount : engineCount).inc());
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
