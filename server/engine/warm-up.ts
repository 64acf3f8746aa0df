import { reusablePlan } from '../plan/literal-template.js';
import { firstValue, simpleQuery } from './frames.js';
import type { EngineUnit } from './engine.js';
import type { ReusablePlan } from './messages.js';

/*
 * What an engine runs right after it opens, while no client needs it: the catalog statements that BI tools and
 * drivers send first (psql's \dt and \d+, pgjdbc's getTables and getColumns, SQLAlchemy 1.4's reflection), on a
 * couple of the catalog's own tables. A fresh engine runs each new kind of statement slowly the first time: V8
 * runs PGlite's WASM with its baseline compiler until a function is hot, then optimizes it, and PostgreSQL fills
 * its per-backend catalog caches as it goes. The engines share one compiled WASM module (shared-memory.ts), so the
 * code one engine warms is warm for all; the caches are each engine's own. Every statement runs as a unit like a
 * client's (as the client role, rolled back, cleaned up), and gives way to any client unit (Engine.runWhenIdle).
 * No statement here reads a resource table's rows: none makes an AWS call (the engine has no way to make one).
 */

/** Who runs the warm-up: an engine's idle-time units. undefined: the unit gave way to a client's, or the engine closed. */
export interface IdleRunner {
  runWhenIdle(unit: EngineUnit): Promise<Buffer | undefined>;
  readonly closing: boolean;
}

export interface WarmTable {
  schema: string;
  table: string;
  oid: string;
}

/**
 * Up to `limit` of the catalog's tables, the first of each schema first (so that the first two are in two schemas
 * if there are two). Names outside [a-z0-9_] are skipped, so that they go into the statements below as literals
 * and psql's regular expressions without quoting.
 */
export const warmTablesSql = (
  limit: number,
) => `SELECT json_agg(json_build_object('schema', nspname, 'table', relname, 'oid', oid::text))
  FROM (SELECT n.nspname, c.relname, c.oid
          FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
           AND n.nspname ~ '^[a-z0-9_]+$' AND c.relname ~ '^[a-z0-9_]+$'
         ORDER BY row_number() OVER (PARTITION BY n.nspname ORDER BY c.oid), c.oid LIMIT ${limit}) AS t`;

/** The engines' warm-up tables. */
export const tablesSql = warmTablesSql(24);

/** psql 15's \dt of a schema (\dt *.* is the same statement without the schema's pattern). */
const psqlListTables = ({ schema }: WarmTable) => `SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
WHERE c.relkind IN ('r','p','t','s','')
  AND n.nspname OPERATOR(pg_catalog.~) '^(${schema})$' COLLATE pg_catalog.default
ORDER BY 1,2;`;

/** psql 15's \d+ of a table: its look-up, then what it reads by the table's oid. */
const psqlDescribe = ({ schema, table, oid }: WarmTable) => [
  `SELECT c.oid,
  n.nspname,
  c.relname
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname OPERATOR(pg_catalog.~) '^(${table})$' COLLATE pg_catalog.default
  AND n.nspname OPERATOR(pg_catalog.~) '^(${schema})$' COLLATE pg_catalog.default
ORDER BY 2, 3;`,
  `SELECT c.relchecks, c.relkind, c.relhasindex, c.relhasrules, c.relhastriggers, c.relrowsecurity, c.relforcerowsecurity, false AS relhasoids, c.relispartition, pg_catalog.array_to_string(c.reloptions || array(select 'toast.' || x from pg_catalog.unnest(tc.reloptions) x), ', ')
, c.reltablespace, CASE WHEN c.reloftype = 0 THEN '' ELSE c.reloftype::pg_catalog.regtype::pg_catalog.text END, c.relpersistence, c.relreplident, am.amname
FROM pg_catalog.pg_class c
 LEFT JOIN pg_catalog.pg_class tc ON (c.reltoastrelid = tc.oid)
LEFT JOIN pg_catalog.pg_am am ON (c.relam = am.oid)
WHERE c.oid = '${oid}';`,
  `SELECT a.attname,
  pg_catalog.format_type(a.atttypid, a.atttypmod),
  (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid, true)
   FROM pg_catalog.pg_attrdef d
   WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.atthasdef),
  a.attnotnull,
  (SELECT c.collname FROM pg_catalog.pg_collation c, pg_catalog.pg_type t
   WHERE c.oid = a.attcollation AND t.oid = a.atttypid AND a.attcollation <> t.typcollation) AS attcollation,
  a.attidentity,
  a.attgenerated,
  a.attstorage,
  a.attcompression AS attcompression,
  CASE WHEN a.attstattarget=-1 THEN NULL ELSE a.attstattarget END AS attstattarget,
  pg_catalog.col_description(a.attrelid, a.attnum)
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = '${oid}' AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum;`,
  `SELECT pol.polname, pol.polpermissive,
  CASE WHEN pol.polroles = '{0}' THEN NULL ELSE pg_catalog.array_to_string(array(select rolname from pg_catalog.pg_roles where oid = any (pol.polroles) order by 1),',') END,
  pg_catalog.pg_get_expr(pol.polqual, pol.polrelid),
  pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid),
  CASE pol.polcmd
    WHEN 'r' THEN 'SELECT'
    WHEN 'a' THEN 'INSERT'
    WHEN 'w' THEN 'UPDATE'
    WHEN 'd' THEN 'DELETE'
    END AS cmd
FROM pg_catalog.pg_policy pol
WHERE pol.polrelid = '${oid}' ORDER BY 1;`,
  `SELECT oid, stxrelid::pg_catalog.regclass, stxnamespace::pg_catalog.regnamespace::pg_catalog.text AS nsp, stxname,
pg_catalog.pg_get_statisticsobjdef_columns(oid) AS columns,
  'd' = any(stxkind) AS ndist_enabled,
  'f' = any(stxkind) AS deps_enabled,
  'm' = any(stxkind) AS mcv_enabled,
stxstattarget
FROM pg_catalog.pg_statistic_ext
WHERE stxrelid = '${oid}'
ORDER BY nsp, stxname;`,
  `SELECT c.oid::pg_catalog.regclass
FROM pg_catalog.pg_class c, pg_catalog.pg_inherits i
WHERE c.oid = i.inhparent AND i.inhrelid = '${oid}'
  AND c.relkind != 'p' AND c.relkind != 'I'
ORDER BY inhseqno;`,
];

/** pgjdbc's getTables(null, schema, "%", {"TABLE"}) and getColumns(null, schema, table, "%"). */
const jdbcMetadata = ({ schema, table }: WarmTable) => [
  `SELECT NULL AS TABLE_CAT, n.nspname AS TABLE_SCHEM, c.relname AS TABLE_NAME,  CASE n.nspname ~ '^pg_' OR n.nspname = 'information_schema'  WHEN true THEN CASE  WHEN n.nspname = 'pg_catalog' OR n.nspname = 'information_schema' THEN CASE c.relkind   WHEN 'r' THEN 'SYSTEM TABLE'   WHEN 'v' THEN 'SYSTEM VIEW'   WHEN 'i' THEN 'SYSTEM INDEX'   ELSE NULL   END  WHEN n.nspname = 'pg_toast' THEN CASE c.relkind   WHEN 'r' THEN 'SYSTEM TOAST TABLE'   WHEN 'i' THEN 'SYSTEM TOAST INDEX'   ELSE NULL   END  ELSE CASE c.relkind   WHEN 'r' THEN 'TEMPORARY TABLE'   WHEN 'p' THEN 'TEMPORARY TABLE'   WHEN 'i' THEN 'TEMPORARY INDEX'   WHEN 'S' THEN 'TEMPORARY SEQUENCE'   WHEN 'v' THEN 'TEMPORARY VIEW'   ELSE NULL   END  END  WHEN false THEN CASE c.relkind  WHEN 'r' THEN 'TABLE'  WHEN 'p' THEN 'PARTITIONED TABLE'  WHEN 'i' THEN 'INDEX'  WHEN 'P' then 'PARTITIONED INDEX'  WHEN 'S' THEN 'SEQUENCE'  WHEN 'v' THEN 'VIEW'  WHEN 'c' THEN 'TYPE'  WHEN 'f' THEN 'FOREIGN TABLE'  WHEN 'm' THEN 'MATERIALIZED VIEW'  ELSE NULL  END  ELSE NULL  END  AS TABLE_TYPE, d.description AS REMARKS,  '' as TYPE_CAT, '' as TYPE_SCHEM, '' as TYPE_NAME, '' AS SELF_REFERENCING_COL_NAME, '' AS REF_GENERATION  FROM pg_catalog.pg_namespace n, pg_catalog.pg_class c  LEFT JOIN pg_catalog.pg_description d ON (c.oid = d.objoid AND d.objsubid = 0  and d.classoid = 'pg_class'::regclass)  WHERE c.relnamespace = n.oid  AND n.nspname LIKE '${schema}' AND c.relname LIKE '%' AND (false  OR ( c.relkind = 'r' AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' ) )  ORDER BY TABLE_TYPE,TABLE_SCHEM,TABLE_NAME`,
  `SELECT * FROM (SELECT n.nspname,c.relname,a.attname,a.atttypid,a.attnotnull OR (t.typtype = 'd' AND t.typnotnull) AS attnotnull,a.atttypmod,a.attlen,t.typtypmod,row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum) AS attnum, nullif(a.attidentity, '') as attidentity,nullif(a.attgenerated, '') as attgenerated,pg_catalog.pg_get_expr(def.adbin, def.adrelid) AS adsrc,dsc.description,t.typbasetype,t.typtype  FROM pg_catalog.pg_namespace n  JOIN pg_catalog.pg_class c ON (c.relnamespace = n.oid)  JOIN pg_catalog.pg_attribute a ON (a.attrelid=c.oid)  JOIN pg_catalog.pg_type t ON (a.atttypid = t.oid)  LEFT JOIN pg_catalog.pg_attrdef def ON (a.attrelid=def.adrelid AND a.attnum = def.adnum)  LEFT JOIN pg_catalog.pg_description dsc ON (c.oid=dsc.objoid AND a.attnum = dsc.objsubid)  LEFT JOIN pg_catalog.pg_class dc ON (dc.oid=dsc.classoid AND dc.relname='pg_class')  LEFT JOIN pg_catalog.pg_namespace dn ON (dc.relnamespace=dn.oid AND dn.nspname='pg_catalog')  WHERE c.relkind in ('r','p','v','f','m') and a.attnum > 0 AND NOT a.attisdropped  AND n.nspname LIKE '${schema}' AND c.relname LIKE '${table}') c WHERE true  AND attname LIKE '%' ORDER BY nspname,c.relname,attnum`,
];

/** SQLAlchemy 1.4's get_table_names, then get_columns of a table (its oid, its columns, all domains and enums). */
export const sqlalchemyReflection = ({ schema, table, oid }: WarmTable) => [
  `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '${schema}' AND c.relkind in ('r', 'p')`,
  `
            SELECT c.oid
            FROM pg_catalog.pg_class c
            LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE (n.nspname = '${schema}')
            AND c.relname = '${table}' AND c.relkind in
            ('r', 'v', 'm', 'f', 'p')
         `,
  `
            SELECT a.attname,
              pg_catalog.format_type(a.atttypid, a.atttypmod),
              (
                SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid)
                FROM pg_catalog.pg_attrdef d
                WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum
                AND a.atthasdef
              ) AS DEFAULT,
              a.attnotnull,
              a.attrelid as table_oid,
              pgd.description as comment,
              a.attgenerated as generated,
                              (SELECT json_build_object(
                    'always', a.attidentity = 'a',
                    'start', s.seqstart,
                    'increment', s.seqincrement,
                    'minvalue', s.seqmin,
                    'maxvalue', s.seqmax,
                    'cache', s.seqcache,
                    'cycle', s.seqcycle)
                FROM pg_catalog.pg_sequence s
                JOIN pg_catalog.pg_class c on s.seqrelid = c."oid"
                WHERE c.relkind = 'S'
                AND a.attidentity != ''
                AND s.seqrelid = pg_catalog.pg_get_serial_sequence(
                    a.attrelid::regclass::text, a.attname
                )::regclass::oid
                ) as identity_options                
            FROM pg_catalog.pg_attribute a
            LEFT JOIN pg_catalog.pg_description pgd ON (
                pgd.objoid = a.attrelid AND pgd.objsubid = a.attnum)
            WHERE a.attrelid = ${oid}
            AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum
         `,
  `
            SELECT t.typname as "name",
               pg_catalog.format_type(t.typbasetype, t.typtypmod) as "attype",
               not t.typnotnull as "nullable",
               t.typdefault as "default",
               pg_catalog.pg_type_is_visible(t.oid) as "visible",
               n.nspname as "schema"
            FROM pg_catalog.pg_type t
               LEFT JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
            WHERE t.typtype = 'd'
         `,
  `
            SELECT t.typname as "name",
               -- no enum defaults in 8.4 at least
               -- t.typdefault as "default",
               pg_catalog.pg_type_is_visible(t.oid) as "visible",
               n.nspname as "schema",
               e.enumlabel as "label"
            FROM pg_catalog.pg_type t
                 LEFT JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
                 LEFT JOIN pg_catalog.pg_enum e ON t.oid = e.enumtypid
            WHERE t.typtype = 'e'
        ORDER BY "schema", "name", e.oid `,
];

/**
 * The warm-up statements for these tables, each as its own unit's messages: every client's statements for the
 * first two, then SQLAlchemy's two per-table statements for the others. A notebook's reflection sends those two
 * for every table of a schema (384 statements for ec2's 192 tables), and V8 optimizes a WASM function only once it
 * ran hot: measured on one engine, ec2's first reflection after a warm-up of 2 tables took 0.72 to 0.95 s of CPU,
 * and 0.35 to 0.5 s hot.
 */
export function warmUpStatements(tables: WarmTable[], hotLoops = true): string[] {
  const perTable = (t: WarmTable) => sqlalchemyReflection(t).slice(1, 3);
  return [
    ...tables.slice(0, 2).flatMap((t) => {
      const [names, , , domains, enums] = sqlalchemyReflection(t);
      return [names!, domains!, enums!, psqlListTables(t), ...psqlDescribe(t), ...jdbcMetadata(t)];
    }),
    // SQLAlchemy's per-table statements last: they leave their reused plans prepared (warmUp), which the full
    // cleanup of the other statements' units would deallocate.
    ...tables.slice(0, 2).flatMap(perTable),
    ...(hotLoops ? tables.slice(2).flatMap(perTable) : []),
  ];
}

/**
 * A statement that gave way to a client's unit is tried again later, once: a statement that keeps being
 * interrupted is not worth the CPU it takes from the clients. The look-up of the tables is tried until it is
 * answered: without it there is nothing to warm (a client's first statements, at ready, can interrupt it twice).
 */
const ATTEMPTS = 2;

export interface WarmUpCounts {
  /** Statements answered. */
  ran: number;
  /** Statements interrupted because a client's unit arrived. */
  gaveWay: number;
}

/**
 * Runs the warm-up on one engine; resolves when it is done (or the engine closes). Never rejects. hotLoops: also
 * run SQLAlchemy's per-table statements over more tables, until V8 optimized their code; needed on the first
 * engine only, since the engines share the compiled module (a second engine ran ec2's reflection after the first
 * in 0.45 to 0.5 s of CPU, the first one again 0.37 to 0.5 s).
 */
export async function warmUp(engine: IdleRunner, hotLoops = true): Promise<WarmUpCounts> {
  const counts = { ran: 0, gaveWay: 0 };
  const run = async (sql: string, reuse?: ReusablePlan, attempts = ATTEMPTS): Promise<Buffer | undefined> => {
    for (let attempt = 0; attempt < attempts && !engine.closing; attempt++) {
      // With a template (a SELECT of the catalog that leaves nothing): plain, run as the clients' texts will be.
      const unit: EngineUnit = {
        settings: [],
        load: [],
        messages: simpleQuery(sql),
        ...(reuse ? { plain: true, reuse } : {}),
      };
      const reply = await engine.runWhenIdle(unit).catch(() => undefined);
      if (reply) {
        counts.ran++;
        return reply;
      }
      counts.gaveWay++;
    }
    return undefined;
  };
  const found = await run(tablesSql, undefined, Infinity);
  const json = found && firstValue(found);
  const tables = json ? (JSON.parse(json) as WarmTable[]) : [];
  // SQLAlchemy's per-table statements run as the clients' will: each shape's texts as one reused prepared statement
  // (docs/ENGINE.md, "Reused plans"), so that path's code is optimized too, and its statements are prepared already.
  const perTable = new Set(tables.flatMap((t) => sqlalchemyReflection(t).slice(1, 3)));
  for (const sql of warmUpStatements(tables, hotLoops)) {
    if (engine.closing) break;
    await run(sql, perTable.has(sql) ? reusablePlan(sql.trim()) : undefined);
  }
  return counts;
}
