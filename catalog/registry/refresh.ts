/**
 * Rebuilds the registry snapshot from a live account: CloudFormation ListTypes (public AWS resource types
 * whose provisioning type is FULLY_MUTABLE or IMMUTABLE, every page), then DescribeType for each, through
 * @aws-sdk/client-cloudformation and the SDK's default credential chain.
 */
import {
  CloudFormationClient,
  DescribeTypeCommand,
  paginateListTypes,
  type ProvisioningType,
} from '@aws-sdk/client-cloudformation';
import pLimit from 'p-limit';
import { checkSchema, compareTypeNames, writeSnapshot, type RegistrySchema } from './snapshot.js';

export interface RefreshOptions {
  region: string;
  /** An endpoint override (the emulator); else the SDK's own (AWS_ENDPOINT_URL_CLOUDFORMATION is honoured). */
  endpoint?: string;
  /** The snapshot file to write. */
  out: string;
  /** DescribeType calls in flight at once (default 4: the registry's API rate is low). */
  concurrency?: number;
  /** SDK attempts per call, the first included (default 10); throttling is retried with adaptive backoff. */
  maxAttempts?: number;
  /** Progress lines (to stderr from the CLI); never credentials or schemas. */
  onProgress?: (message: string) => void;
  /** Instead of building one from the options (tests). */
  client?: CloudFormationClient;
}

export interface RefreshResult {
  out: string;
  /** The type names written, sorted. */
  typeNames: string[];
}

/** The provisioning types Cloud Control can create: the rest (NON_PROVISIONABLE) are left out. */
export const refreshedProvisioningTypes: readonly ProvisioningType[] = ['FULLY_MUTABLE', 'IMMUTABLE'];

export async function refreshRegistry(options: RefreshOptions): Promise<RefreshResult> {
  const progress = options.onProgress ?? (() => {});
  const client =
    options.client ??
    new CloudFormationClient({
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      maxAttempts: options.maxAttempts ?? 10,
      retryMode: 'adaptive',
    });
  try {
    const typeNames = await listTypeNames(client);
    progress(`listed ${typeNames.length} resource types in ${options.region}`);
    const limit = pLimit(Math.max(1, options.concurrency ?? 4));
    let done = 0;
    const schemas = await Promise.all(
      typeNames.map((typeName) =>
        limit(async () => {
          const schema = await describe(client, typeName);
          if (++done % 100 === 0 || done === typeNames.length)
            progress(`described ${done} of ${typeNames.length}`);
          return schema;
        }),
      ),
    );
    writeSnapshot(options.out, schemas);
    progress(`wrote ${schemas.length} schemas to ${options.out}`);
    return { out: options.out, typeNames };
  } finally {
    if (!options.client) client.destroy();
  }
}

/** Every page of ListTypes for each refreshed provisioning type, sorted and without repeats. */
export async function listTypeNames(client: CloudFormationClient): Promise<string[]> {
  const names = new Set<string>();
  for (const provisioningType of refreshedProvisioningTypes) {
    const pages = paginateListTypes(
      { client, pageSize: 100 },
      {
        Type: 'RESOURCE',
        Visibility: 'PUBLIC',
        ProvisioningType: provisioningType,
        DeprecatedStatus: 'LIVE',
        // Without it, PUBLIC also lists third-party types, which DescribeType cannot read by name until activated.
        Filters: { Category: 'AWS_TYPES' },
      },
    );
    for await (const page of pages) {
      for (const summary of page.TypeSummaries ?? []) if (summary.TypeName) names.add(summary.TypeName);
    }
  }
  return [...names].sort(compareTypeNames);
}

/** DescribeType's Schema, parsed and checked to be the type asked for. */
export async function describe(client: CloudFormationClient, typeName: string): Promise<RegistrySchema> {
  const out = await client.send(new DescribeTypeCommand({ Type: 'RESOURCE', TypeName: typeName }));
  if (out.Schema === undefined) throw new Error(`DescribeType returned no Schema for ${typeName}`);
  let schema: unknown;
  try {
    schema = JSON.parse(out.Schema);
  } catch {
    throw new Error(`DescribeType returned a Schema for ${typeName} that is not JSON`);
  }
  checkSchema(schema, `DescribeType ${typeName}`);
  if (schema.typeName !== typeName)
    throw new Error(`DescribeType ${typeName} returned the schema of ${schema.typeName}`);
  return schema;
}
