import type { ResourceDefinition } from './types.js';

/**
 * A resource's primary identifier as Cloud Control writes it: the values of the primaryIdentifier
 * properties, joined by `|` when there are several. Undefined when the model lacks one of them.
 */
export function primaryIdentifierOf(
  definition: ResourceDefinition,
  model: Record<string, unknown>,
): string | undefined {
  const parts = definition.primaryIdentifier.map((name) => model[name]);
  if (parts.some((part) => part === undefined || part === null)) return undefined;
  return parts.map(String).join('|');
}
