/** An error the client sees as an ErrorResponse: SQLSTATE, message, and the optional fields psql shows. */
export class PgError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly fields: { detail?: string; hint?: string; position?: number; severity?: 'ERROR' | 'FATAL' } = {},
  ) {
    super(message);
    this.name = 'PgError';
  }

  get severity(): 'ERROR' | 'FATAL' {
    return this.fields.severity ?? 'ERROR';
  }
}

/** SQLSTATEs used across the server, by their PostgreSQL condition names. */
export const SqlState = {
  successful_completion: '00000',
  feature_not_supported: '0A000',
  invalid_parameter_value: '22023',
  data_exception: '22000',
  unique_violation: '23505',
  check_violation: '23514',
  not_null_violation: '23502',
  invalid_transaction_state: '25000',
  in_failed_sql_transaction: '25P02',
  read_only_sql_transaction: '25006',
  invalid_authorization_specification: '28000',
  invalid_password: '28P01',
  invalid_cursor_name: '34000',
  syntax_error: '42601',
  invalid_name: '42602',
  insufficient_privilege: '42501',
  undefined_table: '42P01',
  undefined_column: '42703',
  undefined_object: '42704',
  duplicate_prepared_statement: '42P05',
  duplicate_cursor: '42P03',
  invalid_sql_statement_name: '26000',
  protocol_violation: '08P01',
  query_canceled: '57014',
  admin_shutdown: '57P01',
  lock_not_available: '55P03',
  object_in_use: '55006',
  object_not_in_prerequisite_state: '55000',
  system_error: '58000',
  too_many_connections: '53300',
  configuration_limit_exceeded: '53400',
  program_limit_exceeded: '54000',
  statement_too_complex: '54001',
  internal_error: 'XX000',
  fdw_error: 'HV000',
  fdw_unable_to_establish_connection: 'HV00N',
  connection_failure: '08006',
} as const;
