import type { Column, ColumnType } from '../types.js';

/** A column of a table over Cloud Control itself (not a resource type's property): no property, plain flags. */
export function column(
  name: string,
  type: ColumnType,
  description: string,
  { key = false, readOnly = true, identifier = false } = {},
): Column {
  return {
    name,
    type,
    description,
    key,
    flags: { identifier, requiredOnCreate: false, readOnly, writeOnly: false, createOnly: false },
  };
}
