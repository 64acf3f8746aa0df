/**
 * The CloudFormation registry snapshot the project ships: a gzipped JSON array, one resource provider
 * schema per resource type (the `Schema` string DescribeType returns, parsed), sorted by typeName.
 * `npm run refresh-registry` rewrites it from a live account; the emulator answers ListTypes and
 * DescribeType from it.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Handler, JsonSchema } from '../types.js';

/** One type's registry schema as the snapshot holds it (DescribeType's `Schema`, parsed); the keys the catalog reads are typed. */
export interface RegistrySchema {
  typeName: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  definitions?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean;
  readOnlyProperties?: string[];
  writeOnlyProperties?: string[];
  createOnlyProperties?: string[];
  primaryIdentifier?: string[];
  handlers?: Partial<Record<Handler, { permissions?: string[] }>>;
  [key: string]: unknown;
}

/** CloudFormation's ProvisioningType of a resource type. */
export type ProvisioningType = 'FULLY_MUTABLE' | 'IMMUTABLE' | 'NON_PROVISIONABLE';

/** The region the shipped snapshot was taken in. */
export const snapshotRegion = 'us-east-1';

/** The project's root: the nearest directory above this module with a package.json (source or dist/). */
export function projectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the project root (no package.json above the module)');
    dir = parent;
  }
  return dir;
}

/** Where the snapshot of a region lives in the project: `catalog/registry/schemas-<region>.json.gz`. */
export function snapshotPath(region = snapshotRegion): string {
  return path.join(projectRoot(), 'catalog', 'registry', `schemas-${region}.json.gz`);
}

/**
 * FULLY_MUTABLE with an update handler, IMMUTABLE with create but no update (replaced, never updated),
 * NON_PROVISIONABLE otherwise (no create handler).
 */
export function provisioningTypeOf(schema: RegistrySchema): ProvisioningType {
  if (schema.handlers?.update) return 'FULLY_MUTABLE';
  if (schema.handlers?.create) return 'IMMUTABLE';
  return 'NON_PROVISIONABLE';
}

/** Reads and checks a snapshot file. */
export function readSnapshot(file = snapshotPath()): RegistrySchema[] {
  const parsed: unknown = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8'));
  if (!Array.isArray(parsed)) throw new Error(`${file}: not a JSON array`);
  for (const [i, schema] of parsed.entries()) checkSchema(schema, `${file}: entry ${i}`);
  return parsed as RegistrySchema[];
}

/** Writes schemas in the snapshot format (sorted by typeName), through a temporary file so a reader never sees half. */
export function writeSnapshot(file: string, schemas: readonly RegistrySchema[]): void {
  const sorted = [...schemas].sort((a, b) => compareTypeNames(a.typeName, b.typeName));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.typeName === sorted[i - 1]!.typeName)
      throw new Error(`the type ${sorted[i]!.typeName} appears twice`);
  }
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, gzipSync(Buffer.from(JSON.stringify(sorted), 'utf8'), { level: 9 }));
  renameSync(tmp, file);
}

/** Code-unit order, as the shipped snapshot is sorted. */
export function compareTypeNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A parsed `Schema` must be an object naming its type; throws with `where` in the message otherwise. */
export function checkSchema(schema: unknown, where: string): asserts schema is RegistrySchema {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema))
    throw new Error(`${where}: the schema is not a JSON object`);
  if (typeof (schema as { typeName?: unknown }).typeName !== 'string')
    throw new Error(`${where}: the schema has no typeName`);
}
