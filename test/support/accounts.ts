/**
 * What the accounts suites (accounts.test.ts, accounts-org.test.ts) share: a temporary directory holding the AWS
 * shared config and credentials files the bridge's profiles come from and its YAML configuration files; Cloud
 * Control clients of the emulator that seed each account's resources, with an account's keys or a role assumed
 * with them; and the bridge started with a file, or run to its exit when the file stops its start.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CloudControlClient } from '@aws-sdk/client-cloudcontrol';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { fakeAwsEnv, projectRoot, startBridge, type Started } from './processes.js';
import { ONLY_CONNECTOR_PROFILES } from './stack.js';

/** An account's access keys, as the emulator maps them to it (`--access-key KEY=ID`). */
export interface AccessKeys {
  accessKeyId: string;
  secretAccessKey: string;
}

/** A connector profile to create: the resource these suites keep in each account. */
export const connectorProfile = (name: string) => ({
  ConnectorProfileName: name,
  ConnectorType: 'Slack',
  ConnectionMode: 'Public' as const,
});

/** The profiles' names, sorted. */
export const profileNames = (rows: { connector_profile_name: string }[]) =>
  rows.map((r) => r.connector_profile_name).sort();

export class AccountsFixture {
  readonly dir: string;
  readonly #clients: CloudControlClient[] = [];

  /** `credentials` and `config`: the shared files' text (profiles and their keys). */
  constructor(prefix: string, files: { credentials: string; config: string }) {
    this.dir = mkdtempSync(path.join(os.tmpdir(), prefix));
    writeFileSync(path.join(this.dir, 'credentials'), files.credentials);
    writeFileSync(path.join(this.dir, 'config'), files.config);
  }

  /** The environment that points the SDK (the bridge's and these clients') at the shared files. */
  env(): Record<string, string> {
    return {
      AWS_CONFIG_FILE: path.join(this.dir, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(this.dir, 'credentials'),
    };
  }

  /** Writes a file of the directory (a YAML configuration) and returns its path. */
  writeFile(name: string, lines: string[]): string {
    const file = path.join(this.dir, name);
    writeFileSync(file, [...lines, ''].join('\n'));
    return file;
  }

  /** A Cloud Control client of the emulator, closed by close(). */
  client(endpoint: string, credentials: AccessKeys | CloudControlClient['config']['credentials']) {
    const client = new CloudControlClient({ region: 'us-east-1', endpoint, credentials });
    this.#clients.push(client);
    return client;
  }

  /** A client of the role's account: the role assumed (emulator STS) with `keys`. */
  roleClient(endpoint: string, roleArn: string, keys: AccessKeys) {
    return this.client(
      endpoint,
      fromTemporaryCredentials({
        params: { RoleArn: roleArn, RoleSessionName: 'seed' },
        masterCredentials: keys,
        clientConfig: { region: 'us-east-1', endpoint },
      }),
    );
  }

  /**
   * A bridge serving the connector profiles for the configuration `file`, against the emulator; `args` are
   * added (by default the read cache is off, so every read is counted at the emulator).
   */
  startBridge(
    file: string,
    endpoint: string,
    { args = ['--cache-ttl-ms', '0'], env = {} }: { args?: string[]; env?: Record<string, string> } = {},
  ): Promise<Started & { port: number }> {
    return startBridge(['--config', file, '--endpoint', endpoint, ...args, ...ONLY_CONNECTOR_PROFILES], {
      ...this.env(),
      ...env,
    });
  }

  /** The bridge with `args`, run until it exits (a configuration that stops the start). */
  runBridge(args: string[], env: Record<string, string> = this.env()): SpawnSyncReturns<string> {
    return spawnSync(process.execPath, [path.join(projectRoot, 'dist/server/main.js'), ...args], {
      env: { ...process.env, ...fakeAwsEnv, ...env },
      encoding: 'utf8',
      timeout: 120000,
    });
  }

  close(): void {
    for (const client of this.#clients) client.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
