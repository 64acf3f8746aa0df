/**
 * Private and third-party resource types activated in an account are not in the shipped snapshot: they are
 * read at start (`--extra-types MyOrg::Service::Thing,...`) by name with CloudFormation DescribeType, or from
 * local schema files, in the same shape as the snapshot's entries, and served beside the snapshot's types.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import pLimit from 'p-limit';
import { typeFilter } from './definitions.js';
import { describe } from './refresh.js';
import { checkSchema, type RegistrySchema } from './snapshot.js';

export interface ExtraTypesOptions {
  /** Where DescribeType reads the types; needed only when a name is given. */
  region: string | undefined;
  /** An endpoint override (the emulator); else the SDK's own. */
  endpoint?: string;
  /** Instead of building one from the options (tests). */
  client?: CloudFormationClient;
}

// CloudFormation's TypeName pattern for resource types.
const typeNamePattern = /^[A-Za-z0-9]{2,64}::[A-Za-z0-9]{2,64}::[A-Za-z0-9]{2,64}$/;

/** `A::B::C, D::E::F` -> the names, each checked; throws an Error naming the bad one. */
export function parseExtraTypes(value: string): string[] {
  const names = [...new Set(value.split(',').map((n) => n.trim()))].filter((n) => n !== '');
  for (const name of names) {
    if (!typeNamePattern.test(name))
      throw new Error(
        `--extra-types: "${name.slice(0, 200)}" is not a resource type name (e.g. MyOrg::Service::Thing)`,
      );
  }
  return names;
}

/** DescribeType of each name, in the order given; a type the account does not have fails with what to do. */
export async function describeExtraTypes(
  names: string[],
  options: ExtraTypesOptions,
): Promise<RegistrySchema[]> {
  const region = options.region;
  if (region === undefined)
    throw new Error('--extra-types: give --region (or AWS_REGION): DescribeType reads the types of a region');
  const client =
    options.client ??
    new CloudFormationClient({
      region,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      maxAttempts: 10,
      retryMode: 'adaptive',
    });
  const limit = pLimit(4);
  try {
    return await Promise.all(
      names.map((name) =>
        limit(async () => {
          try {
            return await describe(client, name);
          } catch (err) {
            if ((err as Error).name === 'TypeNotFoundException')
              throw new Error(
                `--extra-types: ${name} is not registered or activated in ${region}; activate a public ` +
                  'third-party type first (aws cloudformation activate-type), or check the name and region',
                { cause: err },
              );
            throw err;
          }
        }),
      ),
    );
  } finally {
    if (!options.client) client.destroy();
  }
}

/** An `--extra-types` entry naming files rather than a type: it has a `/` or ends in `.json`. */
export function isSchemaFile(entry: string): boolean {
  return entry.includes('/') || entry.endsWith('.json');
}

/**
 * Registry schemas from local files: `path` may have `*` in its last part (`schemas/*.json`). A file holds one
 * schema (as `aws cloudformation describe-type --query Schema` prints it, parsed) or an array of them (the
 * snapshot's shape). Throws, naming the file, when one is missing, is not JSON or holds no typeName.
 */
export function readSchemaFiles(pattern: string, flag = '--extra-types'): RegistrySchema[] {
  const dir = path.dirname(pattern);
  const base = path.basename(pattern);
  const files = base.includes('*')
    ? readdirSync(dir)
        .filter(typeFilter([base]))
        .sort()
        .map((name) => path.join(dir, name))
    : [pattern];
  if (files.length === 0) throw new Error(`${flag} ${pattern}: no file matches it`);
  return files.flatMap((file) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new Error(`${flag} ${file}: ${(err as Error).message}`, { cause: err });
    }
    const schemas = Array.isArray(parsed) ? parsed : [parsed];
    for (const [i, schema] of schemas.entries())
      checkSchema(schema, `${flag} ${file}${Array.isArray(parsed) ? `: entry ${i}` : ''}`);
    return schemas as RegistrySchema[];
  });
}

/**
 * Every `--extra-types` entry's schemas, in the order given: type names through DescribeType (in `options.region`),
 * files read from disk. A type given twice fails, as it would be served twice.
 */
export async function loadExtraTypes(
  entries: readonly string[],
  options: ExtraTypesOptions,
): Promise<RegistrySchema[]> {
  const files = entries.filter(isSchemaFile);
  const names = parseExtraTypes(entries.filter((e) => !isSchemaFile(e)).join(','));
  const schemas = [
    ...files.flatMap((file) => readSchemaFiles(file)),
    ...(names.length > 0 ? await describeExtraTypes(names, options) : []),
  ];
  const seen = new Set<string>();
  for (const s of schemas) {
    if (seen.has(s.typeName)) throw new Error(`--extra-types: ${s.typeName} is given twice`);
    seen.add(s.typeName);
  }
  return schemas;
}
