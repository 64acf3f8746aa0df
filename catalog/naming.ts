/**
 * Property names (PascalCase, as in the Cloud Control model) and column names (snake_case, as Postgres folds
 * unquoted identifiers) map both ways.
 */

/**
 * `KMSArn` -> `kms_arn`, `ConnectorProfileArn` -> `connector_profile_arn`.
 * A run of capitals is one word, except its last capital when a lower-case letter follows (it starts the next word).
 */
export function propertyToColumn(property: string): string {
  return property
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

/**
 * Inverts propertyToColumn through the resource type's own property names: snake_case loses the capitals
 * (`kms_arn` could be `KmsArn` or `KMSArn`), so only the model can say which property a column shows.
 * Matching ignores case because a client may quote the column in any case it likes.
 */
export function columnToProperty(column: string, propertyNames: readonly string[]): string | undefined {
  const wanted = column.toLowerCase();
  return propertyNames.find((name) => propertyToColumn(name) === wanted);
}
