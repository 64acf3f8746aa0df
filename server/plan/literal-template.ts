import { LRUCache } from 'lru-cache';
import type { ReusablePlan } from '../engine/messages.js';
import { scanLiterals, type LiteralScan, type LiteralType } from './literals.js';

/**
 * A statement text as the engine's prepared statement for every text that differs from it only in some literals:
 * `text` has `$1`..`$n` where those literals stood, `values` are this text's literals, `types` what each parameter is
 * declared as (PostgreSQL's type for a number's form; a string's is left for the engine to infer, as it infers an
 * unknown-typed literal's: worker.ts checks it did).
 */
export interface LiteralTemplate {
  text: string;
  types: LiteralType[];
  values: string[];
}

/**
 * Each shape (a text with its literals marked) seen, with the literal values it was first seen with; bounded by
 * the shapes' length (2 M characters, as the parse cache bounds its texts).
 */
const firstSeen = new LRUCache<string, string[]>({
  maxSize: 2_000_000,
  sizeCalculation: (_, shape) => shape.length,
});
/** Longer texts (generated statements) and those with more literals are not worth a template. */
const MAX_LENGTH = 32_768;
const MAX_LITERALS = 1000;

/**
 * The template for `sql` once another text of the same shape was seen: the literals that differ from that first
 * text's become parameters, those that are the same stay as they are (a json_build_object key, a relkind list), so
 * the engine needs to infer a type only for values that vary. The same text again gives a template without
 * parameters. Undefined the first time a shape is seen, or when its literals cannot be told (literals.ts).
 */
export function literalTemplate(sql: string, scanned?: LiteralScan): LiteralTemplate | undefined {
  if (sql.length > MAX_LENGTH) return undefined;
  const scan = scanned ?? scanLiterals(sql);
  if (!scan || scan.literals.length > MAX_LITERALS) return undefined;
  const first = firstSeen.get(scan.shape);
  if (!first) {
    firstSeen.set(
      scan.shape,
      scan.literals.map((l) => l.value),
    );
    return undefined;
  }
  let text = '';
  let at = 0;
  const types: LiteralType[] = [];
  const values: string[] = [];
  scan.literals.forEach((literal, i) => {
    if (literal.value === first[i]) return;
    values.push(literal.value);
    types.push(literal.type);
    text += `${sql.slice(at, literal.start)}$${values.length}`;
    at = literal.end;
  });
  return { text: text + sql.slice(at), types, values };
}

const typeOids: Record<LiteralType, number> = { int4: 23, int8: 20, numeric: 1700, unknown: 0 };

/** literalTemplate as the engine's EngineUnit.reuse: the parameters' types as oids (0: to infer). `scanned`: sql's scan. */
export function reusablePlan(sql: string, scanned?: LiteralScan): ReusablePlan | undefined {
  const template = literalTemplate(sql, scanned);
  return (
    template && {
      text: template.text,
      types: template.types.map((t) => typeOids[t]),
      values: template.values,
    }
  );
}
