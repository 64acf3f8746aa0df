import type { EmulatedCloudControl } from './service.js';

/**
 * Demo data of a few types that join: connector profiles of several connector types, the AppFlow flows that read
 * from them (`source_flow_config->>'ConnectorProfileName'`) and write to S3 buckets, the buckets, the IAM roles
 * the flows' connectors and a Lambda function use, in two regions. They are created through CreateResource like
 * any client's, so the service fills their ARNs. The credentials are obviously fake.
 */

const typeName = 'AWS::AppFlow::ConnectorProfile';
const account = '123456789012';

export interface SampleResource {
  region: string;
  typeName: string;
  desiredState: Record<string, unknown>;
}

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

/** An AppFlow flow from a connector profile's object into an S3 bucket, run on demand. */
function flow(name: string, profile: string, connectorType: string, object: string, bucket: string) {
  return {
    FlowName: name,
    Description: `Copies ${object} from ${profile} to s3://${bucket}`,
    TriggerConfig: { TriggerType: 'OnDemand' },
    SourceFlowConfig: {
      ConnectorType: connectorType,
      ConnectorProfileName: profile,
      SourceConnectorProperties: { [connectorType]: { Object: object } },
    },
    DestinationFlowConfigList: [
      {
        ConnectorType: 'S3',
        DestinationConnectorProperties: { S3: { BucketName: bucket, BucketPrefix: name } },
      },
    ],
    Tasks: [{ SourceFields: [], TaskType: 'Map_all', ConnectorOperator: { [connectorType]: 'NO_OP' } }],
  };
}

const assumeRole = (service: string) => ({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }],
});

/** The other types' demo resources; connector profiles come first (the flows name them). */
export const sampleResources: SampleResource[] = [
  ...sampleConnectorProfiles.map((p) => ({ ...p, typeName })),
  ...(
    [
      ['us-east-1', 'example-appflow-landing'],
      ['us-east-1', 'example-analytics-exports'],
      ['eu-west-1', 'example-appflow-landing-eu'],
    ] as const
  ).map(([region, bucket]) => ({
    region,
    typeName: 'AWS::S3::Bucket',
    desiredState: {
      BucketName: bucket,
      VersioningConfiguration: { Status: 'Enabled' },
      Tags: [{ Key: 'team', Value: 'data' }],
    },
  })),
  {
    region: 'us-east-1',
    typeName: 'AWS::AppFlow::Flow',
    desiredState: flow(
      'salesforce-accounts',
      'salesforce-prod',
      'Salesforce',
      'Account',
      'example-appflow-landing',
    ),
  },
  {
    region: 'us-east-1',
    typeName: 'AWS::AppFlow::Flow',
    desiredState: flow(
      'salesforce-opportunities',
      'salesforce-prod',
      'Salesforce',
      'Opportunity',
      'example-analytics-exports',
    ),
  },
  {
    region: 'us-east-1',
    typeName: 'AWS::AppFlow::Flow',
    desiredState: flow(
      'slack-messages',
      'slack-workspace',
      'Slack',
      'conversations/C0123',
      'example-appflow-landing',
    ),
  },
  {
    region: 'eu-west-1',
    typeName: 'AWS::AppFlow::Flow',
    desiredState: flow(
      'salesforce-eu-accounts',
      'salesforce-eu',
      'Salesforce',
      'Account',
      'example-appflow-landing-eu',
    ),
  },
  // IAM is global: the live service shows the same roles in every region; the emulator keeps them where made.
  {
    region: 'us-east-1',
    typeName: 'AWS::IAM::Role',
    desiredState: {
      RoleName: 'AppFlowRedshiftAccess',
      Description: 'Lets AppFlow load into the Redshift warehouse',
      AssumeRolePolicyDocument: assumeRole('appflow.amazonaws.com'),
      MaxSessionDuration: 3600,
    },
  },
  {
    region: 'us-east-1',
    typeName: 'AWS::IAM::Role',
    desiredState: {
      RoleName: 'export-notifier-role',
      Description: 'Execution role of the export-notifier function',
      AssumeRolePolicyDocument: assumeRole('lambda.amazonaws.com'),
      ManagedPolicyArns: ['arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
    },
  },
  {
    region: 'us-east-1',
    typeName: 'AWS::Lambda::Function',
    desiredState: {
      FunctionName: 'export-notifier',
      Description: 'Posts to Slack when a flow lands a file in example-analytics-exports',
      Runtime: 'python3.12',
      Handler: 'index.handler',
      Role: `arn:aws:iam::${account}:role/export-notifier-role`,
      Code: { ZipFile: 'def handler(event, context):\n    return event\n' },
      Environment: { Variables: { BUCKET: 'example-analytics-exports' } },
      Timeout: 30,
      MemorySize: 128,
    },
  },
];

/** Creates the sample resources through CreateResource and completes them at once, so they exist on return. */
export function loadSampleData(service: EmulatedCloudControl): void {
  for (const { region, typeName, desiredState } of sampleResources) {
    service.handle(
      'CreateResource',
      { TypeName: typeName, DesiredState: JSON.stringify(desiredState) },
      region,
    );
  }
  service.completePending();
}
