import type { Table } from '../../catalog/types.js';
import type { Body } from './ast.js';
import { conjuncts, keyComparison, type KeyColumn, type KeyExpr, type KeyComparison } from './keys.js';
import { rowsComparisons } from './rows-keys.js';

export interface TableRead {
  table: Table;
  /** Key column name -> the values it is pinned to, or undefined when not pinned (then fetch everything). */
  keys: Partial<Record<KeyColumn, KeyExpr[]>>;
}

/** One FROM item of a SELECT, UPDATE or DELETE, as column references can name it. */
export interface Entry {
  /** The alias, or the relation name when there is none. */
  exposed: string;
  aliased: boolean;
  /** Schema as written (qualified references only). */
  schema?: string;
  /** The catalog table reads this item may be; several when an unqualified name matches several schemas. */
  reads: TableRead[];
  /**
   * Its columns are not known to be exactly the catalog table's (subquery, function, other table, column
   * aliases, a name hidden behind a join alias): an unqualified column may bind to it, so nothing pins by
   * an unqualified name in this scope.
   */
  opaque: boolean;
  /** Behind a join alias: qualified references cannot reach it. */
  hidden: boolean;
  /**
   * Column -> the entries a USING or NATURAL join merged it across: an unqualified reference names the merged
   * column, which equals each of theirs on every row a WHERE keeps, whatever the join's type.
   */
  merged?: ReadonlyMap<string, readonly Entry[]>;
}

export interface PinScope {
  /** The catalog tables a subquery's relation may be (`key IN (SELECT ... FROM t)`). */
  resolve: (rv: Body) => Table[];
  /** The entries the quals may narrow: an outer join's preserved side keeps rows no ON matches. Default: all. */
  pinnable?: readonly Entry[];
}

/**
 * Applies the top-level AND conjuncts of `quals` (a WHERE, or a join's ON) to the entries in its scope: a key
 * compared with constants or parameters, or with an expression over another catalog table's rows (a join, or
 * `IN (SELECT ...)`). Under-fetching returns wrong answers, so every doubt leaves the key unpinned.
 */
export function pinKeys(quals: unknown, entries: Entry[], scope: PinScope): void {
  const pinnable = scope.pinnable ?? entries;
  // Only a catalog table's read takes a key: a scope of none (pg_catalog's tables) has nothing to pin.
  if (!pinnable.some((entry) => entry.reads.length > 0)) return;
  const targets = (parts: string[]) =>
    parts.length === 1 ? unqualified(entries, parts[0]!) : [qualified(entries, parts)];
  // A key's source is one FROM item: a merged column is no single item's.
  const bind = (parts: string[]) => {
    const found = targets(parts);
    return found.length === 1 ? found[0] : undefined;
  };
  for (const conjunct of conjuncts(quals)) {
    const constant = keyComparison(conjunct);
    const comparisons: (KeyComparison & { source?: Entry })[] = constant
      ? [constant]
      : rowsComparisons(conjunct, bind, scope.resolve);
    for (const cmp of comparisons) {
      const column = cmp.column[cmp.column.length - 1]!;
      for (const target of targets(cmp.column)) {
        if (!target || target === cmp.source || !pinnable.includes(target)) continue;
        pinReads(target, column, cmp.values);
      }
    }
  }
}

function pinReads(target: Entry, column: string, values: KeyExpr[]): void {
  for (const read of target.reads) {
    if (!isKey(read.table, column)) continue;
    // A value from rows is compared as text: a key of another type could equal it in another spelling.
    if (values.some((v) => v.kind === 'rows') && !isText(read.table, column)) continue;
    setKey(read, column, values);
  }
}

function hasColumn(table: Table, column: string): boolean {
  return table.columns.some((c) => c.name === column);
}

function isText(table: Table, column: string): boolean {
  return table.columns.some((c) => c.name === column && c.type === 'text');
}

/** A column the table's fetch can be narrowed by (catalog `key`): `operation` may be a plain column elsewhere. */
function isKey(table: Table, column: string): boolean {
  return table.columns.some((c) => c.name === column && c.key);
}

/** The entry an unqualified column binds to, or the entries of the column a join merged, when that is certain. */
function unqualified(entries: Entry[], column: string): Entry[] {
  if (entries.some((e) => e.opaque)) return [];
  const having = entries.filter((e) => e.reads.some((r) => hasColumn(r.table, column)));
  if (having.length === 1) return having;
  const group = having[0]?.merged?.get(column);
  return group?.length === having.length && having.every((e) => group.includes(e)) ? having : [];
}

/** `alias.col`, `table.col`, `schema.table.col`, `aws.schema.table.col`. */
function qualified(entries: Entry[], parts: string[]): Entry | undefined {
  const [relation, schema, database] = parts.slice(0, -1).reverse();
  if (database !== undefined && database !== 'aws') return undefined;
  const matches = entries.filter((e) => {
    if (e.hidden || e.exposed !== relation) return false;
    if (schema === undefined) return true;
    if (e.aliased) return false;
    return e.schema !== undefined ? e.schema === schema : e.reads.every((r) => r.table.schema === schema);
  });
  return matches.length === 1 ? matches[0] : undefined;
}

/**
 * Two conjuncts on one key are both true of every row; either alone is a correct superset. Constants win over
 * another table's rows (known now, no engine run), then the shorter list.
 */
function setKey(read: TableRead, column: KeyColumn, values: KeyExpr[]): void {
  const current = read.keys[column];
  const fromRows = (v: KeyExpr[]) => v.some((e) => e.kind === 'rows');
  if (current && fromRows(values) && !fromRows(current)) return;
  if (!current || (fromRows(current) && !fromRows(values)) || values.length < current.length)
    read.keys[column] = values;
}
