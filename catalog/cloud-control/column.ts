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

/**
 * account_id and account_name, as every resource table has them (catalog/resource-type.ts): the configured
 * account a row was read from, pushed down like region. `writable`: an INSERT may name the account to create in.
 */
export function accountColumns(writable: boolean): Column[] {
  const flags = { key: true, readOnly: !writable };
  return [
    column('account_id', 'text', 'The 12-digit id of the AWS account the row comes from.', flags),
    column(
      'account_name',
      'text',
      "The account's name in the server's configuration file ('default' without one).",
      flags,
    ),
  ];
}
