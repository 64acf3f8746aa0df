import { randomBytes } from 'node:crypto';
import { primaryIdentifierOf } from '../catalog/identifier.js';
import type { ResourceDefinition } from '../catalog/types.js';

export type Model = Record<string, unknown>;

export const accountId = '123456789012';

/** What a read returns: the stored model without write-only properties, which the service never returns. */
export function readModel(definition: ResourceDefinition, model: Model): Model {
  const copy: Model = {};
  for (const [name, value] of Object.entries(model)) {
    if (!definition.writeOnlyProperties.includes(name)) copy[name] = structuredClone(value);
  }
  return copy;
}

/**
 * Fills the read-only properties the service itself sets on create, from the definition's templates over
 * {region}, {account}, {id}, {random} and the model's own properties.
 */
export function withGeneratedProperties(
  definition: ResourceDefinition,
  desired: Model,
  region: string,
): Model {
  const model = structuredClone(desired);
  const random = randomBytes(4).toString('hex').slice(0, 6);
  const fill = (template: string, id: string) =>
    template.replace(/\{(\w+)\}/g, (whole, name: string) => {
      if (name === 'region') return region;
      if (name === 'account') return accountId;
      if (name === 'random') return random;
      if (name === 'id') return id;
      const value = model[name];
      return value === undefined || typeof value === 'object' ? whole : String(value);
    });
  // Templates may name the identifier, and the identifier may be generated: fill the rest first.
  const entries = Object.entries(definition.generatedProperties);
  for (const [name, template] of entries) {
    if (!/\{id\}/.test(template)) model[name] = fill(template, '');
  }
  const id = primaryIdentifierOf(definition, model) ?? '';
  for (const [name, template] of entries) {
    if (/\{id\}/.test(template)) model[name] = fill(template, id);
  }
  return model;
}
