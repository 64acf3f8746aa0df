import type { SessionsTable } from '../types.js';
import { column } from './column.js';

/**
 * What each session of this server is doing, as pg_stat_activity shows for PostgreSQL: from the server itself, no
 * AWS call, read-only. The statement's kind is shown, never its text (it may hold credentials).
 */
export const sessions: SessionsTable = {
  schema: 'cloud_control',
  name: 'sessions',
  kind: 'sessions',
  description:
    "The sessions connected to this server, one row each: who, from where, and what each is doing now, with the running statement's Cloud Control calls; read-only",
  columns: [
    column('pid', 'bigint', "The session's process id (BackendKeyData): what its pg_backend_pid() returns."),
    column('usename', 'text', 'User name the session connected as.'),
    column('application_name', 'text', 'The application_name setting of the session now.'),
    column('client_addr', 'text', 'Address of the client (an IP address).'),
    column('backend_start', 'timestamptz', 'When the session connected.'),
    column(
      'state',
      'text',
      "active (a statement is running), idle, 'idle in transaction' or 'idle in transaction (aborted)'.",
    ),
    column(
      'statement_kind',
      'text',
      'Kind of the running statement, or of the last one when idle (select, insert, update, set...); never its text.',
    ),
    column('statement_start', 'timestamptz', 'When that statement started.'),
    column('state_change', 'timestamptz', 'When state last changed.'),
    column(
      'calls_in_flight',
      'bigint',
      'Cloud Control calls of that statement running now (a read that joined an identical call in flight does not count it).',
    ),
    column('calls_done', 'bigint', 'Cloud Control calls of that statement finished, whatever their outcome.'),
  ],
  methods: [],
};
