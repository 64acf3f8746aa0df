/**
 * appflow's two tables as plain PostgreSQL tables, for a real PostgreSQL 15 that the bridge's protocol is
 * compared with: the collection table with the bridge's columns (data__identifier follows the name, as the
 * bridge fills it), and the resource table as an updatable view of it.
 */
export const APPFLOW_DDL = `CREATE SCHEMA appflow;
CREATE TABLE appflow.connector_profiles (connector_profile_arn text, connector_label text,
  connector_profile_name text, kms_arn text, connector_type text, connection_mode text,
  connector_profile_config jsonb, credentials_arn text, region text,
  data__identifier text GENERATED ALWAYS AS (connector_profile_name) STORED, data__patchdocument text,
  account_id text, account_name text);
CREATE VIEW appflow.connector_profile AS SELECT * FROM appflow.connector_profiles;`;
