import jsonpatch, { type Operation } from 'fast-json-patch';
import { deparseSync } from 'pgsql-parser';
import type { Column, ResourceTable as Table } from '../../catalog/types.js';
import { primaryIdentifierOf } from '../../catalog/identifier.js';
import type { AccountPin } from '../cloudcontrol/accounts.js';
import type { WriteOutcome, WriteRequest } from '../cloudcontrol/writes.js';
import { PgError, SqlState } from '../errors.js';
import type { ParsedStatement } from '../plan/parse.js';
import { dataRow, noticeResponse, rowDescription } from '../wire/backend-serializer.js';
import { parseDataRow, parseRowDescription } from '../wire/backend-parser.js';
import { emptyResult, type Result } from './result.js';
import { isAnyTypeView } from '../cloudcontrol/any-type.js';
import { patchProperty } from '../cloudcontrol/write-secrets.js';
import { createAnyTypeRows, executeAnyTypeWrite } from './any-type-writes.js';

/** What the write path needs from the executor: run SQL in the engine over fetched rows, and the services. */
export interface WriteContext {
  /** Runs `sql` (the client's statement, rewritten) in the engine with the statement's reads loaded; text results. */
  runRewritten(sql: string): Promise<Result>;
  /** Evaluates the client's RETURNING list over rows read back from Cloud Control, in the client's formats. */
  runReturning(sql: string, table: Table, rows: Record<string, unknown>[]): Promise<Result>;
  fetchBack(
    table: Table,
    region: string,
    identifiers: string[],
    account?: AccountPin,
  ): Promise<Record<string, unknown>[]>;
  apply(
    table: Table,
    requests: WriteRequest[],
    onProgress: (message: string) => void,
  ): Promise<WriteOutcome[]>;
  defaultRegions: string[];
  /** The configured accounts' names: with several, an INSERT must say which (account_name or account_id). */
  accountNames?: string[];
  /** Why writes are refused now ('read-only mode', 'a read-only transaction'), if they are. */
  readOnly: string | undefined;
  inTransactionBlock: boolean;
}

type Row = Record<string, unknown>;
type Body = Record<string, unknown>;
export type Kind = 'insert' | 'update' | 'delete';

/**
 * INSERT, UPDATE and DELETE on a catalog table. Postgres computes the change (the engine runs the statement
 * over the fetched rows with RETURNING of the old and new rows, then rolls back); the bridge turns it into
 * Cloud Control requests, awaits them, and answers as PostgreSQL would.
 */
export async function executeWrite(
  stmt: ParsedStatement,
  table: Table,
  ctx: WriteContext,
  explain = false,
): Promise<Result> {
  // cloud_control.resources: rows of any type (any-type-writes.ts).
  if (isAnyTypeView(table)) return executeAnyTypeWrite(stmt, table, ctx, explain);
  const write = await computeChanges(stmt, table, ctx, explain, (kind, assigned) =>
    checkAssignedColumns(kind, assigned, table),
  );
  const { kind, changes } = write;
  const requests = changes.flatMap((c) => requestFor(c, table, kind, ctx));
  if (explain) return explainResult(table, requests);
  const messages = await send(table, requests, write.verb, ctx);
  return answer(write, table, ctx, messages, () =>
    readBack(
      ctx,
      table,
      changes.map((c) => requestIdentity(c, kind, table, ctx)),
    ),
  );
}

/** A write as the engine computed it: the statement's kind, its parse tree, and the rows it changed. */
export interface ComputedWrite {
  kind: Kind;
  verb: string;
  body: Body;
  changes: Change[];
}

/**
 * What every write shares before its requests: the refusals (read-only, ON CONFLICT, columns that cannot be
 * set), then the engine's run of the statement over the fetched rows, decoded into changes.
 */
export async function computeChanges(
  stmt: ParsedStatement,
  table: Table,
  ctx: WriteContext,
  explain: boolean,
  checkAssigned: (kind: Kind, assigned: string[]) => void,
): Promise<ComputedWrite> {
  const kind = stmt.kind as Kind;
  const verb = kind.toUpperCase();
  if (!explain) checkWritable(verb, ctx.readOnly);
  const body = Object.values(stmt.ast)[0] as Body;
  if (kind === 'insert' && body.onConflictClause)
    throw new PgError(
      SqlState.feature_not_supported,
      'INSERT ... ON CONFLICT is not supported on AWS resources',
    );
  checkAssigned(kind, kind === 'update' ? targetNames(body.targetList) : targetNames(body.cols));
  const rows = await ctx.runRewritten(rewriteReturning(stmt, kind));
  return { kind, verb, body, changes: decodeChanges(rows, table, kind) };
}

/**
 * The answer to a write whose requests are done: its tag, and RETURNING evaluated over the resources as Cloud
 * Control now has them (`readBack`; a DELETE returns the old rows).
 */
export async function answer(
  { kind, verb, body, changes }: ComputedWrite,
  table: Table,
  ctx: WriteContext,
  messages: Buffer[],
  readBack: () => Promise<Row[]>,
): Promise<Result> {
  const tag = kind === 'insert' ? `INSERT 0 ${changes.length}` : `${verb} ${changes.length}`;
  const returning = body.returningClause as { exprs?: unknown[] } | undefined;
  if (!returning?.exprs?.length) return { ...emptyResult(tag), messages };
  const after = kind === 'delete' ? changes.map((c) => c.old!) : await readBack();
  const result = await ctx.runReturning(returningSelect(body, table), table, after);
  result.messages.unshift(...messages);
  result.tag = tag;
  return result;
}

/**
 * COPY ... FROM STDIN: the engine parsed the client's data into the (otherwise empty) target table, and `rows`
 * is all of that table's rows (SELECT *, text format). Each becomes a CreateResource, as a row of an INSERT does.
 */
export async function createCopiedRows(
  rows: Result,
  table: Table,
  ctx: Pick<WriteContext, 'apply' | 'defaultRegions' | 'accountNames' | 'inTransactionBlock'>,
): Promise<Result> {
  // cloud_control.resources: rows of any type (any-type-writes.ts).
  if (isAnyTypeView(table)) return createAnyTypeRows(rows, table, ctx);
  const changes = decodeChanges(rows, table, 'insert');
  const requests = changes.flatMap((c) => requestFor(c, table, 'insert', ctx));
  const messages = await send(table, requests, 'COPY', ctx);
  return { ...emptyResult(`COPY ${changes.length}`), messages };
}

/** Refuses a write in --read-only mode or a read-only transaction (25006), as PostgreSQL words it. */
export function checkWritable(verb: string, readOnly: string | undefined): void {
  if (readOnly)
    throw new PgError(SqlState.read_only_sql_transaction, `cannot execute ${verb} in ${readOnly}`, {
      hint:
        readOnly === 'read-only mode'
          ? 'The server was started with --read-only; restart it without that flag to change AWS resources.'
          : undefined,
    });
}

/** Sends the requests and awaits them: the notices to send before the result, or the failure carrying them. */
async function send(
  table: Table,
  requests: WriteRequest[],
  verb: string,
  ctx: Pick<WriteContext, 'apply' | 'inTransactionBlock'>,
): Promise<Buffer[]> {
  const messages: Buffer[] = [];
  const notice = (severity: 'NOTICE' | 'WARNING', message: string) =>
    messages.push(noticeResponse({ severity, code: severity === 'WARNING' ? '01000' : '00000', message }));
  if (ctx.inTransactionBlock && requests.length > 0)
    notice('WARNING', `${verb} is sent to AWS now and cannot be rolled back with the transaction block`);
  const outcomes = await ctx.apply(table, requests, (m) => notice('NOTICE', m));
  const failed = outcomes.filter((o) => o.status !== 'SUCCESS');
  if (failed.length > 0) throw failure(outcomes, failed, messages);
  return messages;
}

/** Read-only, create-only and key columns cannot be assigned; say which and why before any call. */
export function checkAssignedColumns(kind: Kind, assigned: string[], table: Table): void {
  if (kind === 'delete') return;
  for (const name of assigned) {
    const column = table.columns.find((c) => c.name === name);
    if (!column) continue; // the engine reports unknown columns with PostgreSQL's own message
    const property = column.property;
    if (property?.flags.readOnly)
      throw new PgError('428C9', `column "${name}" is read-only: AWS sets ${property.name} itself`, {
        hint: `Leave ${name} out of the ${kind === 'update' ? 'SET list' : 'column list'}.`,
      });
    if (kind === 'update' && property?.flags.createOnly)
      throw new PgError(
        SqlState.feature_not_supported,
        `column "${name}" cannot be updated: ${property.name} is create-only for ${table.resource.typeName}`,
        { hint: 'Delete the resource and insert it again with the new value.' },
      );
    if (kind === 'update' && ['region', 'data__identifier', 'account_id', 'account_name'].includes(name))
      throw new PgError('428C9', `column "${name}" identifies the resource and cannot be updated`);
    if (kind === 'insert' && name === 'data__identifier')
      throw new PgError(
        '428C9',
        `column "data__identifier" is set by AWS: give ${primaryColumns(table)} instead`,
      );
  }
}

function targetNames(list: unknown): string[] {
  return ((list as { ResTarget?: { name?: string } }[] | undefined) ?? []).flatMap((t) =>
    t.ResTarget?.name ? [t.ResTarget.name] : [],
  );
}

/** The statement with RETURNING of what the bridge needs: old and new rows for UPDATE, the row otherwise. */
export function rewriteReturning(stmt: ParsedStatement, kind: Kind): string {
  const ast = structuredClone(stmt.ast);
  const body = Object.values(ast)[0] as Body;
  const star = (qualifier?: string) => ({
    ResTarget: {
      val: {
        ColumnRef: { fields: [...(qualifier ? [{ String: { sval: qualifier } }] : []), { A_Star: {} }] },
      },
    },
  });
  body.returningClause = { exprs: kind === 'update' ? [star('old'), star('new')] : [star()] };
  return deparseSync(ast as never);
}

export interface Change {
  old?: Row;
  new?: Row;
}

export function decodeChanges(result: Result, table: Table, kind: Kind): Change[] {
  if (!result.description) return [];
  const fields = parseRowDescription(result.description.subarray(5));
  const width = table.columns.length;
  return result.rows.map((frame) => {
    const values = parseDataRow(frame.subarray(5));
    const rowAt = (offset: number): Row => {
      const row: Row = {};
      for (let i = 0; i < width; i++) {
        const column = table.columns.find((c) => c.name === fields[offset + i]!.name)!;
        row[column.name] = decodeText(values[offset + i] ?? null, column);
      }
      return row;
    };
    if (kind === 'update') return { old: rowAt(0), new: rowAt(width) };
    return kind === 'insert' ? { new: rowAt(0) } : { old: rowAt(0) };
  });
}

function decodeText(value: Buffer | null, column: Column): unknown {
  if (value === null) return null;
  const text = value.toString('utf8');
  switch (column.type) {
    case 'jsonb':
      return JSON.parse(text);
    case 'boolean':
      return text === 't';
    case 'bigint':
    case 'numeric': {
      const n = Number(text);
      return Number.isSafeInteger(n) || !Number.isInteger(n) ? n : text;
    }
    default:
      return text;
  }
}

/** The model's properties a row holds (NULL columns are absent properties). */
function properties(row: Row, table: Table): Row {
  const out: Row = {};
  for (const column of table.columns) {
    if (column.property && row[column.name] !== null && row[column.name] !== undefined)
      out[column.property.name] = row[column.name];
  }
  return out;
}

type Defaults = Pick<WriteContext, 'defaultRegions' | 'accountNames'>;

function requestFor(change: Change, table: Table, kind: Kind, defaults: Defaults): WriteRequest[] {
  if (kind === 'insert') {
    const desiredState = properties(change.new!, table);
    const { region, identifier, account } = requestIdentity(change, kind, table, defaults);
    for (const column of table.columns)
      if (column.property?.flags.requiredOnCreate && desiredState[column.property.name] === undefined)
        throw new PgError(
          SqlState.not_null_violation,
          `null value in column "${column.name}" violates the resource type's required properties`,
          { detail: `${table.resource.typeName} requires ${requiredColumns(table)}.` },
        );
    return [{ operation: 'CreateResource', region, identifier, desiredState, account }];
  }
  const { region, identifier, account } = requestIdentity(change, kind, table, defaults);
  if (kind === 'delete') return [{ operation: 'DeleteResource', region, identifier, account }];
  const patch = patchFor(change, table);
  return patch.length > 0 ? [{ operation: 'UpdateResource', region, identifier, patch, account }] : [];
}

function requestIdentity(
  change: Change,
  kind: Kind,
  table: Table,
  { defaultRegions, accountNames = [] }: Defaults,
): { region: string; identifier: string; account?: AccountPin } {
  if (kind !== 'insert') {
    const old = change.old!;
    // A row read names the account it came from (with one account configured, there is no other to name).
    const account =
      typeof old.account_name === 'string' && accountNames.length > 1
        ? { name: old.account_name }
        : undefined;
    return { region: String(old.region), identifier: String(old.data__identifier), account };
  }
  const row = change.new!;
  const account = insertAccount(row, accountNames);
  let region = row.region as string | null;
  if (region === null) {
    if (defaultRegions.length !== 1)
      throw new PgError(
        SqlState.not_null_violation,
        'null value in column "region": say which region to create in',
        {
          hint:
            defaultRegions.length === 0
              ? "Add region to the INSERT, e.g. INSERT INTO ... (region, ...) VALUES ('us-east-1', ...)."
              : `The server reads ${defaultRegions.length} regions by default (${defaultRegions.join(', ')}); add region to the INSERT.`,
        },
      );
    region = defaultRegions[0]!;
  }
  const identifier = primaryIdentifierOf(table.resource.definition, properties(row, table));
  return { region, identifier: identifier ?? '', ...(account ? { account } : {}) };
}

/** The account an inserted row names (account_name and/or account_id); with several configured, it must name one. */
export function insertAccount(row: Row, accountNames: string[]): AccountPin | undefined {
  const account = accountPin(row);
  if (account === undefined && accountNames.length > 1)
    throw new PgError(
      SqlState.not_null_violation,
      'null value in column "account_name": say which account to create in',
      {
        hint:
          `The server reads ${accountNames.length} accounts (${accountNames.join(', ')}); add account_name ` +
          `(or account_id) to the INSERT, e.g. INSERT INTO ... (account_name, ...) VALUES ('${accountNames[0]}', ...).`,
      },
    );
  return account;
}

/** The account a row names, by account_name and/or account_id. */
function accountPin(row: Row): AccountPin | undefined {
  const name = row.account_name;
  const id = row.account_id;
  if ((name === null || name === undefined) && (id === null || id === undefined)) return undefined;
  return {
    ...(name !== null && name !== undefined ? { name: String(name) } : {}),
    ...(id !== null && id !== undefined ? { id: String(id) } : {}),
  };
}

/** A raw data__patchdocument passes through as it is; otherwise the difference between old and new. */
function patchFor(change: Change, table: Table): Operation[] {
  const raw = change.new!.data__patchdocument;
  if (raw !== null && raw !== undefined) {
    let patch: unknown;
    try {
      patch = JSON.parse(String(raw));
    } catch {
      throw new PgError('22P02', 'data__patchdocument is not valid JSON', {
        hint: 'Give an RFC 6902 JSON Patch, e.g. [{"op":"replace","path":"/ConnectionMode","value":"Private"}].',
      });
    }
    if (!Array.isArray(patch))
      throw new PgError(
        SqlState.invalid_parameter_value,
        'data__patchdocument must be a JSON array of RFC 6902 operations',
      );
    return patch as Operation[];
  }
  // Write-only properties are absent from the read model: compare() yields `add` for them, as AWS requires.
  return jsonpatch.compare(properties(change.old!, table), properties(change.new!, table));
}

async function readBack(
  ctx: WriteContext,
  table: Table,
  ids: { region: string; identifier: string; account?: AccountPin }[],
): Promise<Row[]> {
  const resource = table.resource.tables.find((t) => t.kind === 'resource') ?? table;
  const byPlace = new Map<string, { region: string; account?: AccountPin; identifiers: string[] }>();
  for (const { region, identifier, account } of ids) {
    const key = JSON.stringify([region, account?.name, account?.id]);
    const place = byPlace.get(key) ?? { region, account, identifiers: [] };
    place.identifiers.push(identifier);
    byPlace.set(key, place);
  }
  const rows = await Promise.all(
    [...byPlace.values()].map(({ region, account, identifiers }) =>
      ctx.fetchBack(resource, region, identifiers, account),
    ),
  );
  return rows.flat();
}

/** SELECT <the client's RETURNING list> FROM <the target, with its alias>. */
export function returningSelect(body: Body, table: Table): string {
  const relation = body.relation as Body;
  const rangeVar = ('RangeVar' in relation ? relation.RangeVar : relation) as Body;
  const select = {
    SelectStmt: {
      targetList: (body.returningClause as { exprs: unknown[] }).exprs,
      fromClause: [
        {
          RangeVar: {
            ...rangeVar,
            schemaname: table.schema,
            relname: table.name,
            inh: true,
            relpersistence: 'p',
          },
        },
      ],
      limitOption: 'LIMIT_OPTION_DEFAULT',
      op: 'SETOP_NONE',
    },
  };
  return deparseSync(select as never);
}

export function explainResult(table: Table, requests: WriteRequest[]): Result {
  const lines: string[] = [];
  if (requests.length === 0) lines.push('No Cloud Control request: no row changes');
  const writeOnly = new Set(table.resource.definition.secretProperties);
  for (const r of requests) {
    const account = r.account?.name ?? r.account?.id;
    lines.push(
      `${r.operation} ${table.resource.typeName} "${r.identifier}" in ${r.region}` +
        (account === undefined ? '' : ` of account "${account}"`),
    );
    if (r.operation === 'CreateResource')
      lines.push(`  DesiredState: ${JSON.stringify(masked(r.desiredState, writeOnly))}`);
    if (r.operation === 'UpdateResource')
      lines.push(
        `  PatchDocument: ${JSON.stringify(r.patch.map((op) => (writeOnly.has(patchProperty(op.path) ?? '') && 'value' in op ? { ...op, value: '***' } : op)))}`,
      );
  }
  return {
    ...emptyResult('EXPLAIN'),
    description: rowDescription([
      {
        name: 'QUERY PLAN',
        tableOid: 0,
        columnAttr: 0,
        typeOid: 25,
        typeSize: -1,
        typeModifier: -1,
        format: 0,
      },
    ]),
    rows: lines.map((line) => dataRow([line])),
  };
}

/** Write-only values (credentials) never leave in plain text. */
function masked(state: Row, writeOnly: Set<string>): Row {
  return Object.fromEntries(Object.entries(state).map(([k, v]) => [k, writeOnly.has(k) ? '***' : v]));
}

export function failure(outcomes: WriteOutcome[], failed: WriteOutcome[], messages: Buffer[]): PgError {
  const first = failed[0]!.error ?? new PgError(SqlState.fdw_error, 'the request failed');
  if (outcomes.length === 1) return withMessages(first, messages);
  const succeeded = outcomes.filter((o) => o.status === 'SUCCESS').map((o) => `"${o.request.identifier}"`);
  if (succeeded.length > 0)
    messages.push(
      noticeResponse({
        severity: 'NOTICE',
        code: '00000',
        message: `these changes succeeded and stay (Cloud Control cannot roll them back): ${succeeded.join(', ')}`,
      }),
    );
  const detail = failed
    .map((o) => {
      const why = o.error ? [o.error.message, o.error.fields.detail].filter(Boolean).join(': ') : o.status;
      return `"${o.request.identifier}" in ${o.request.region}: ${why}`;
    })
    .join('\n');
  return withMessages(
    new PgError(
      first.code,
      `${failed.length} of ${outcomes.length} ${outcomes[0]!.request.operation} requests failed`,
      {
        detail,
        hint: first.fields.hint,
      },
    ),
    messages,
  );
}

/** An error that carries the notices to send before it. */
export class WriteError extends PgError {
  constructor(
    base: PgError,
    readonly messages: Buffer[],
  ) {
    super(base.code, base.message, base.fields);
  }
}

function withMessages(err: PgError, messages: Buffer[]): PgError {
  return messages.length ? new WriteError(err, messages) : err;
}

function primaryColumns(table: Table): string {
  return table.columns
    .filter((c) => c.property?.flags.identifier)
    .map((c) => c.name)
    .join(', ');
}

function requiredColumns(table: Table): string {
  const required = table.columns.filter((c) => c.property?.flags.requiredOnCreate).map((c) => c.name);
  return required.join(', ');
}
