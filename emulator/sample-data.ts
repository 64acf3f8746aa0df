import type { EmulatedCloudControl } from './service.js';

/**
 * Demo data: connector profiles of several connector types in two regions. They are created through
 * CreateResource like any client's, so the service fills their ARNs. The credentials are obviously fake.
 */

const typeName = 'AWS::AppFlow::ConnectorProfile';
const account = '123456789012';

export const sampleConnectorProfiles: { region: string; desiredState: Record<string, unknown> }[] = [
  {
    region: 'us-east-1',
    desiredState: {
      ConnectorProfileName: 'salesforce-prod',
      ConnectorType: 'Salesforce',
      ConnectionMode: 'Public',
      ConnectorProfileConfig: {
        ConnectorProfileProperties: {
          Salesforce: { InstanceUrl: 'https://example.my.salesforce.com', isSandboxEnvironment: false },
        },
        ConnectorProfileCredentials: {
          Salesforce: {
            AccessToken: 'demo-salesforce-access-token',
            RefreshToken: 'demo-salesforce-refresh-token',
          },
        },
      },
    },
  },
  {
    region: 'us-east-1',
    desiredState: {
      ConnectorProfileName: 'snowflake-analytics',
      ConnectorType: 'Snowflake',
      ConnectionMode: 'Private',
      KMSArn: `arn:aws:kms:us-east-1:${account}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
      ConnectorProfileConfig: {
        ConnectorProfileProperties: {
          Snowflake: {
            Warehouse: 'ANALYTICS_WH',
            Stage: 'ANALYTICS.PUBLIC.APPFLOW_STAGE',
            BucketName: 'example-appflow-snowflake',
            AccountName: 'example',
            Region: 'us-east-1',
          },
        },
        ConnectorProfileCredentials: { Snowflake: { Username: 'appflow', Password: 'demo-password' } },
      },
    },
  },
  {
    region: 'us-east-1',
    desiredState: {
      ConnectorProfileName: 'redshift-warehouse',
      ConnectorType: 'Redshift',
      ConnectionMode: 'Public',
      ConnectorProfileConfig: {
        ConnectorProfileProperties: {
          Redshift: {
            DatabaseUrl: 'jdbc:redshift://warehouse.abc123.us-east-1.redshift.amazonaws.com:5439/dev',
            BucketName: 'example-appflow-redshift',
            RoleArn: `arn:aws:iam::${account}:role/AppFlowRedshiftAccess`,
            DatabaseName: 'dev',
            ClusterIdentifier: 'warehouse',
          },
        },
        ConnectorProfileCredentials: { Redshift: { Username: 'appflow', Password: 'demo-password' } },
      },
    },
  },
  {
    region: 'us-east-1',
    desiredState: {
      ConnectorProfileName: 'slack-workspace',
      ConnectorType: 'Slack',
      ConnectionMode: 'Public',
      ConnectorProfileConfig: {
        ConnectorProfileProperties: { Slack: { InstanceUrl: 'https://example.slack.com' } },
        ConnectorProfileCredentials: {
          Slack: {
            ClientId: 'demo-client-id',
            ClientSecret: 'demo-client-secret',
            AccessToken: 'demo-token',
          },
        },
      },
    },
  },
  {
    region: 'us-east-1',
    desiredState: {
      ConnectorProfileName: 'inventory-api',
      ConnectorType: 'CustomConnector',
      ConnectorLabel: 'InventoryConnector',
      ConnectionMode: 'Public',
      ConnectorProfileConfig: {
        ConnectorProfileProperties: {
          CustomConnector: {
            ProfileProperties: { baseUrl: 'https://inventory.example.com/api', tenant: 'acme' },
          },
        },
        ConnectorProfileCredentials: {
          CustomConnector: { AuthenticationType: 'APIKEY', ApiKey: { ApiKey: 'demo-api-key' } },
        },
      },
    },
  },
  {
    region: 'eu-west-1',
    desiredState: {
      ConnectorProfileName: 'datadog-monitoring',
      ConnectorType: 'Datadog',
      ConnectionMode: 'Public',
      ConnectorProfileConfig: {
        ConnectorProfileProperties: { Datadog: { InstanceUrl: 'https://api.datadoghq.eu' } },
        ConnectorProfileCredentials: {
          Datadog: { ApiKey: 'demo-api-key', ApplicationKey: 'demo-application-key' },
        },
      },
    },
  },
  {
    region: 'eu-west-1',
    desiredState: {
      ConnectorProfileName: 'salesforce-eu',
      ConnectorType: 'Salesforce',
      ConnectionMode: 'Public',
      ConnectorProfileConfig: {
        ConnectorProfileProperties: { Salesforce: { InstanceUrl: 'https://example-eu.my.salesforce.com' } },
        ConnectorProfileCredentials: { Salesforce: { AccessToken: 'demo-salesforce-eu-access-token' } },
      },
    },
  },
  {
    region: 'eu-west-1',
    desiredState: {
      ConnectorProfileName: 'snowflake-eu',
      ConnectorType: 'Snowflake',
      ConnectionMode: 'Public',
      ConnectorProfileConfig: {
        ConnectorProfileProperties: {
          Snowflake: {
            Warehouse: 'EU_WH',
            Stage: 'EU.PUBLIC.APPFLOW_STAGE',
            BucketName: 'example-appflow-snowflake-eu',
          },
        },
        ConnectorProfileCredentials: { Snowflake: { Username: 'appflow', Password: 'demo-password' } },
      },
    },
  },
];

/** Creates the sample profiles through CreateResource and completes them at once, so they exist on return. */
export function loadSampleData(service: EmulatedCloudControl): void {
  for (const { region, desiredState } of sampleConnectorProfiles) {
    service.handle(
      'CreateResource',
      { TypeName: typeName, DesiredState: JSON.stringify(desiredState) },
      region,
    );
  }
  service.completePending();
}
