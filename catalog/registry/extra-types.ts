/**
 * Private and third-party resource types activated in an account are not in the shipped snapshot: they are
 * read by name at start (`--extra-types MyOrg::Service::Thing,...`) with CloudFormation DescribeType, in the
 * same shape as the snapshot's entries. Wiring them into the served catalog is the catalog builder's part.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import pLimit from 'p-limit';
import { describe } from './refresh.js';
import type { RegistrySchema } from './snapshot.js';

export interface ExtraTypesOptions {
  region: string;
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
  const client =
    options.client ??
    new CloudFormationClient({
      region: options.region,
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
                `--extra-types: ${name} is not registered or activated in ${options.region}; activate a public ` +
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
