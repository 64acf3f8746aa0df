import type { AddressInfo } from 'node:net';
import { pino, type Level, type Logger } from 'pino';
import { catalog as defaultCatalog, lazyCatalog, registrySchemas } from '../catalog/index.js';
import type { Catalog } from '../catalog/types.js';
import type { RegistrySchema } from '../catalog/registry/snapshot.js';
import { typeFilter } from '../catalog/registry/definitions.js';
import { EmulatedRegistry } from './cloudformation.js';
import { applyFaults, defaultFaults, type Faults } from './faults.js';
import { createHttpServer } from './http-server.js';
import { loadSampleData } from './sample-data.js';
import { EmulatedCloudControl } from './service.js';
import type { OrganizationOptions } from './organizations.js';
import { EmulatedSts, type IdentityOptions } from './sts.js';

export type { Faults, InjectedFailure } from './faults.js';
export { sampleConnectorProfiles } from './sample-data.js';

export interface EmulatorOptions extends Partial<Faults>, IdentityOptions, OrganizationOptions {
  /** 0 or absent: an ephemeral port. */
  port?: number;
  host?: string;
  /** Seed the demo connector profiles (us-east-1 and eu-west-1). */
  sampleData?: boolean;
  /** pino level for the stderr log; `silent` turns it off. */
  logLevel?: Level | 'silent';
  /** The resource types served; the project's catalog unless a test brings its own. */
  catalog?: Catalog;
  /** The registry schemas CloudFormation ListTypes/DescribeType serve; the shipped snapshot (read on first use) unless a test brings its own. */
  registry?: () => readonly RegistrySchema[];
  /**
   * Private types registered in the emulated account (`--register-type <schema file>`): DescribeType answers
   * them and Cloud Control serves them, beside the registry's (and the catalog's) types.
   */
  registerTypes?: RegistrySchema[];
  /**
   * Type-name globs (`AWS::AppFlow::*`) whose ListResources returns the whole read model; every other type lists
   * only its primary identifier properties, as many live list handlers do.
   */
  listFullModel?: string[];
}

export interface RunningEmulator {
  endpoint: string;
  port: number;
  /** The faults now in force. */
  faults(): Faults;
  /** Changes faults in process, as POST /__admin/faults does. */
  setFaults(update: Partial<Faults>): Faults;
  /** Forgets every resource and request and restores the startup faults, as POST /__admin/reset does. */
  reset(): void;
  close(): Promise<void>;
}

/** Starts the Cloud Control emulator on loopback; resolves once it accepts connections. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const { port = 0, host = '127.0.0.1', sampleData = false, logLevel = 'warn', registerTypes = [] } = options;
  const shippedRegistry = options.registry ?? registrySchemas;
  const registry =
    registerTypes.length === 0 ? shippedRegistry : () => [...shippedRegistry(), ...registerTypes];
  const catalog = options.catalog ?? (registerTypes.length === 0 ? defaultCatalog : lazyCatalog(registry));
  const log: Logger = pino({ name: 'cloudcontrol-emulator', level: logLevel }, pino.destination(2));
  const startupFaults = applyFaults(defaultFaults(), faultsIn(options));
  let faults = defaultFaults();
  const fullModel = options.listFullModel ?? [];
  const listsFull = fullModel.length === 0 ? () => false : typeFilter(fullModel);
  const service = new EmulatedCloudControl(catalog, () => faults, log, listsFull);

  const seed = () => {
    // Seeding is the emulator's own doing: no injected fault may stop it.
    faults = defaultFaults();
    if (sampleData) loadSampleData(service);
    faults = structuredClone(startupFaults);
  };
  seed();

  const sts = new EmulatedSts(options);
  const startupOrganization: OrganizationOptions = {
    ...(options.orgAccounts ? { orgAccounts: options.orgAccounts } : {}),
    ...(options.orgManagement ? { orgManagement: options.orgManagement } : {}),
  };
  // Changed in place by POST /__admin/organization; reset restores the startup members.
  const organization = structuredClone(startupOrganization);
  const admin = {
    faults: () => faults,
    setFaults: (update: unknown) => (faults = applyFaults(faults, update)),
    reset: () => {
      service.reset();
      sts.reset();
      for (const key of Object.keys(organization)) delete organization[key as keyof OrganizationOptions];
      Object.assign(organization, structuredClone(startupOrganization));
      seed();
    },
    dump: () => service.dump(),
  };
  const server = createHttpServer(service, admin, log, new EmulatedRegistry(registry), sts, organization);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actualPort = (server.address() as AddressInfo).port;
  const endpoint = `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
  log.info({ endpoint, sampleData }, 'listening');

  return {
    endpoint,
    port: actualPort,
    faults: admin.faults,
    setFaults: (update) => admin.setFaults(update),
    reset: admin.reset,
    close: () =>
      new Promise<void>((resolve, reject) => {
        service.reset();
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function faultsIn(options: EmulatorOptions): Partial<Faults> {
  const keys: (keyof Faults)[] = [
    'latencyMs',
    'throttleRps',
    'internalErrorRate',
    'failIdentifiers',
    'denyOperations',
    'completionDelayMs',
  ];
  return Object.fromEntries(keys.filter((k) => options[k] !== undefined).map((k) => [k, options[k]]));
}
