/**
 * INSERT, UPDATE, DELETE and COPY FROM on cloud_control.resources: as on a typed table (writes.ts), the engine
 * computes the changed rows; each names its own resource type, so requests are grouped by type and sent
 * through that type's view of the table (server/cloudcontrol/any-type.ts). INSERT sends properties as the
 * DesiredState; UPDATE sends the difference between the old and new properties as an RFC 6902 patch. UPDATE
 * and DELETE go to the account each row was read from; an INSERT names its account (account_name or
 * account_id) when several are configured, as on typed tables.
 */
import jsonpatch, { type Operation } from 'fast-json-patch';
import { primaryIdentifierOf } from '../../catalog/identifier.js';
import { anyTypeView, checkTypeName, type AnyTypeView } from '../cloudcontrol/any-type.js';
import type { AccountPin } from '../cloudcontrol/accounts.js';
import type { WriteOutcome, WriteRequest } from '../cloudcontrol/writes.js';
import { PgError, SqlState } from '../errors.js';
import type { ParsedStatement } from '../plan/parse.js';
import { noticeResponse } from '../wire/backend-serializer.js';
import { emptyResult, type Result } from './result.js';
import {
  answer,
  computeChanges,
  decodeChanges,
  explainResult,
  failure,
  insertAccount,
  type Change,
  type Kind,
  type WriteContext,
} from './writes.js';

type Row = Record<string, unknown>;
/** What one type's requests came to. */
type Sent = { typeName: string; done: WriteOutcome[] };

/** The requests of one resource type, and the view of the table they go through. */
interface Group {
  view: AnyTypeView;
  requests: WriteRequest[];
}

export async function executeAnyTypeWrite(
  stmt: ParsedStatement,
  table: AnyTypeView,
  ctx: WriteContext,
  explain: boolean,
): Promise<Result> {
  const write = await computeChanges(stmt, table, ctx, explain, checkAssigned);
  const groups = groupsFor(write.changes, table, write.kind, ctx);
  if (explain) return explainGroups(groups);
  const { messages, outcomes } = await send(groups, write.verb, ctx);
  return answer(write, table, ctx, messages, () => readBack(ctx, table, outcomes, write.changes, write.kind));
}

/** COPY cloud_control.resources FROM STDIN: each row a CreateResource, as an INSERT's. */
export async function createAnyTypeRows(
  rows: Result,
  table: AnyTypeView,
  ctx: Pick<WriteContext, 'apply' | 'defaultRegions' | 'accountNames' | 'inTransactionBlock'>,
): Promise<Result> {
  const changes = decodeChanges(rows, table, 'insert');
  const { messages } = await send(groupsFor(changes, table, 'insert', ctx), 'COPY', ctx);
  return { ...emptyResult(`COPY ${changes.length}`), messages };
}

/** The columns that say which resource it is cannot be set: properties is what changes. */
function checkAssigned(kind: Kind, assigned: string[]): void {
  if (kind === 'delete') return;
  for (const name of assigned) {
    if (
      kind === 'update' &&
      ['type_name', 'region', 'identifier', 'account_id', 'account_name'].includes(name)
    )
      throw new PgError('428C9', `column "${name}" identifies the resource and cannot be updated`, {
        hint: 'Update properties; to move a resource, DELETE it and INSERT it again.',
      });
    if (kind === 'insert' && name === 'identifier')
      throw new PgError(
        '428C9',
        'column "identifier" is set by AWS: give the properties that make it up instead',
      );
  }
}

type Defaults = Pick<WriteContext, 'defaultRegions' | 'accountNames'>;

/** One request per changed row (none for an UPDATE that changes nothing), grouped by resource type in row order. */
function groupsFor(changes: Change[], table: AnyTypeView, kind: Kind, defaults: Defaults): Group[] {
  const groups = new Map<string, Group>();
  for (const change of changes) {
    const row = (kind === 'delete' ? change.old : change.new)!;
    const typeName = row.type_name as string | null;
    if (typeName === null)
      throw new PgError(
        SqlState.not_null_violation,
        'null value in column "type_name": say which resource type',
        {
          hint: "e.g. INSERT INTO cloud_control.resources (type_name, region, properties) VALUES ('AWS::S3::Bucket', 'us-east-1', '{}')",
        },
      );
    checkTypeName(typeName);
    let group = groups.get(typeName);
    if (!group) {
      group = { view: anyTypeView(table.anyType, typeName, table.catalog), requests: [] };
      groups.set(typeName, group);
    }
    const request = requestFor(change, group.view, kind, defaults);
    if (request) group.requests.push(request);
  }
  const out = [...groups.values()].filter((g) => g.requests.length > 0);
  // A type the catalog does not describe may have any property write-only: every value sent is masked in errors.
  for (const g of out) if (g.view.bare) markWriteOnly(g.view, sentNames(g.requests));
  return out;
}

function requestFor(
  change: Change,
  view: AnyTypeView,
  kind: Kind,
  { defaultRegions, accountNames = [] }: Defaults,
): WriteRequest | undefined {
  if (kind === 'insert') {
    const row = change.new!;
    const account = insertAccount(row, accountNames);
    const desiredState = model(row.properties, 'INSERT');
    const region = regionOf(row, defaultRegions);
    // Cloud Control names the new resource when it is created; a type the catalog describes says so before.
    const known = view.bare ? undefined : primaryIdentifierOf(view.resource.definition, desiredState);
    const identifier = known || `(new ${view.resource.typeName})`;
    return { operation: 'CreateResource', region, identifier, desiredState, ...(account ? { account } : {}) };
  }
  const old = change.old!;
  const region = String(old.region);
  const identifier = String(old.identifier);
  const account = rowAccount(old, accountNames);
  if (kind === 'delete') return { operation: 'DeleteResource', region, identifier, account };
  const patch: Operation[] = jsonpatch.compare(
    model(old.properties ?? {}, 'UPDATE'),
    model(change.new!.properties, 'UPDATE'),
  );
  return patch.length > 0 ? { operation: 'UpdateResource', region, identifier, patch, account } : undefined;
}

/** A row read names the account it came from (with one account configured, there is no other to name). */
function rowAccount(row: Row, accountNames: string[]): AccountPin | undefined {
  return typeof row.account_name === 'string' && accountNames.length > 1
    ? { name: row.account_name }
    : undefined;
}

/** properties must be a JSON object: it is the resource model. */
function model(value: unknown, verb: string): Row {
  if (value === null || value === undefined)
    throw new PgError(
      SqlState.not_null_violation,
      `null value in column "properties": ${verb} needs the resource model`,
      {
        hint: `Give properties as a JSON object, e.g. '{"BucketName": "my-bucket"}'.`,
      },
    );
  if (typeof value !== 'object' || Array.isArray(value))
    throw new PgError(
      SqlState.invalid_parameter_value,
      'properties must be a JSON object: the resource model',
      {
        hint: `e.g. '{"BucketName": "my-bucket"}'.`,
      },
    );
  return value as Row;
}

function regionOf(row: Row, defaultRegions: string[]): string {
  const region = row.region as string | null;
  if (region !== null) return region;
  if (defaultRegions.length === 1) return defaultRegions[0]!;
  throw new PgError(
    SqlState.not_null_violation,
    'null value in column "region": say which region to create in',
    {
      hint:
        defaultRegions.length === 0
          ? "Add region to the INSERT, e.g. INSERT INTO cloud_control.resources (type_name, region, properties) VALUES (..., 'us-east-1', ...)."
          : `The server reads ${defaultRegions.length} regions by default (${defaultRegions.join(', ')}); add region to the INSERT.`,
    },
  );
}

/** A bare type's view, told that these properties are write-only (errors and EXPLAIN mask their values). */
function markWriteOnly(view: AnyTypeView, names: string[]): void {
  const { resource } = view;
  resource.definition.writeOnlyProperties = names;
  resource.definition.secretProperties = names;
  resource.properties = names.map((name) => ({
    name,
    column: name,
    type: 'jsonb',
    description: '',
    flags: {
      identifier: false,
      requiredOnCreate: false,
      readOnly: false,
      writeOnly: true,
      createOnly: false,
    },
  }));
}

/** Top-level property names a request sends. */
function sentNames(requests: WriteRequest[]): string[] {
  const names = new Set<string>();
  for (const r of requests) {
    if (r.operation === 'CreateResource') for (const k of Object.keys(r.desiredState)) names.add(k);
    if (r.operation === 'UpdateResource')
      for (const op of r.patch)
        names.add(op.path.split('/')[1]?.replace(/~1/g, '/').replace(/~0/g, '~') ?? '');
  }
  return [...names];
}

/** Sends each type's requests in turn and awaits them; the first type with a failure stops the rest. */
async function send(
  groups: Group[],
  verb: string,
  ctx: Pick<WriteContext, 'apply' | 'inTransactionBlock'>,
): Promise<{ messages: Buffer[]; outcomes: Sent[] }> {
  const messages: Buffer[] = [];
  const notice = (severity: 'NOTICE' | 'WARNING', message: string) =>
    messages.push(noticeResponse({ severity, code: severity === 'WARNING' ? '01000' : '00000', message }));
  if (ctx.inTransactionBlock && groups.length > 0)
    notice('WARNING', `${verb} is sent to AWS now and cannot be rolled back with the transaction block`);
  const outcomes: Sent[] = [];
  for (const group of groups) {
    const done = await ctx.apply(group.view, group.requests, (m) => notice('NOTICE', m));
    outcomes.push({ typeName: group.view.resource.typeName, done });
    const all = outcomes.flatMap((o) => o.done);
    const failed = all.filter((o) => o.status !== 'SUCCESS');
    if (failed.length > 0) throw failure(all, failed, messages);
  }
  return { messages, outcomes };
}

/** The resources as Cloud Control now describes them (a create's identifier is the one its request reported). */
async function readBack(
  ctx: WriteContext,
  table: AnyTypeView,
  outcomes: Sent[],
  changes: Change[],
  kind: Kind,
): Promise<Row[]> {
  type Wanted = { typeName: string; region: string; identifier: string; account?: AccountPin };
  const wanted: Wanted[] =
    kind === 'insert'
      ? outcomes.flatMap(({ typeName, done }) =>
          done.flatMap((o) =>
            o.identifier === undefined
              ? []
              : [
                  {
                    typeName,
                    region: o.request.region,
                    identifier: o.identifier,
                    account: o.request.account,
                  },
                ],
          ),
        )
      : changes.map((c) => ({
          typeName: String(c.old!.type_name),
          region: String(c.old!.region),
          identifier: String(c.old!.identifier),
          account: rowAccount(c.old!, ctx.accountNames ?? []),
        }));
  const byPlace = new Map<string, Omit<Wanted, 'identifier'> & { identifiers: string[] }>();
  for (const { identifier, ...place } of wanted) {
    const key = JSON.stringify([place.typeName, place.region, place.account?.name, place.account?.id]);
    const entry = byPlace.get(key) ?? { ...place, identifiers: [] };
    entry.identifiers.push(identifier);
    byPlace.set(key, entry);
  }
  const rows = await Promise.all(
    [...byPlace.values()].map(({ typeName, region, identifiers, account }) =>
      ctx.fetchBack(anyTypeView(table.anyType, typeName, table.catalog), region, identifiers, account),
    ),
  );
  return rows.flat();
}

function explainGroups(groups: Group[]): Result {
  if (groups.length === 0) return explainResult(anyTypeViewless(), []);
  const results = groups.map((g) => explainResult(g.view, g.requests));
  return { ...results[0]!, rows: results.flatMap((r) => r.rows) };
}

/** explainResult with no request only reads the table's properties: any view of no type serves. */
function anyTypeViewless(): AnyTypeView {
  return anyTypeView(
    { schema: '', name: '', kind: 'requests', description: '', columns: [], methods: [] },
    '',
    undefined,
  );
}
