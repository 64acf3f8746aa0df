import os from 'node:os';
import { parseArgs } from 'node:util';
import type { AccountConfig } from './cloudcontrol/accounts.js';
import type { OrganizationConfig } from './cloudcontrol/organization.js';
import { readConfigFile } from './config-file.js';
import type { AuthMethod } from './wire/startup.js';

export interface ServerConfig {
  host: string;
  port: number;
  /** Start the built-in Cloud Control emulator with sample data and serve it. */
  demo: boolean;
  endpoint?: string;
  regions: string[];
  /** From the configuration file: the accounts read; absent: one account on the SDK's default chain. */
  accounts?: AccountConfig[];
  /** From the configuration file: an AWS Organization whose member accounts are read too. */
  organization?: OrganizationConfig;
  /** Where STS AssumeRole and GetCallerIdentity go; absent: AWS_ENDPOINT_URL_STS, else --endpoint, else the SDK's. */
  stsEndpoint?: string;
  auth: { method: AuthMethod; users: Record<string, string> };
  tls?: { certFile: string; keyFile: string };
  readOnly: boolean;
  cacheTtlMs: number;
  /** `--cache redis://host:port`: the read cache (and call budget) shared by every bridge on that Redis. */
  cacheUrl?: string;
  /** `--call-budget`: Cloud Control calls a second per region, for this process or every bridge on --cache. */
  callBudget?: number;
  maxConcurrency: number;
  /** Engine workers evaluating statements side by side (about 300 MB RSS each). */
  engines: number;
  /** Client connections at once, those starting up included (PostgreSQL's max_connections). */
  maxConnections: number;
  /** Connections still in startup or authentication at once; more are refused at once. */
  maxStartupConnections: number;
  /** PostgreSQL's authentication_timeout, in milliseconds. */
  authenticationTimeoutMs: number;
  /** The largest message a client may send after startup (Query, Bind, CopyData...), in bytes. */
  maxMessageBytes: number;
  logLevel: string;
  /** `pretty` (one line per event, for a terminal), `json` (pino's lines), or `auto`: pretty on a TTY. */
  logFormat: 'auto' | 'pretty' | 'json';
  /** How long a SIGTERM/SIGINT lets running statements finish before sessions are terminated, in ms. */
  shutdownTimeoutMs: number;
  /** `--metrics-port`: where /metrics, /healthz and /readyz answer (on --host); absent: not served. */
  metricsPort?: number;
  /** `--types`: globs over type names selecting the resource types served; empty: every type. */
  types: string[];
  /** `--extra-types`: private and third-party type names (read with DescribeType at start) or schema files. */
  extraTypes: string[];
}

const usage = `Usage: aws-sql-bridge [options]
       aws-sql-bridge iam-policy [--read-only] [--types <glob>,...]   the IAM policy the server needs
  --host <addr>              listen address (default 127.0.0.1)
  --port <n>                 listen port, 0 for any free one (default 5433)
  --demo                     serve the built-in Cloud Control emulator with sample data
  --config <file>            YAML file naming the AWS accounts to read (profiles, roles to assume) and their
                             regions, see docs/CONFIGURATION.md (default: AWS_SQL_BRIDGE_CONFIG; without one,
                             one account on the SDK's default credential chain)
  --endpoint <url>           Cloud Control endpoint (default: the SDK's, honouring AWS_ENDPOINT_URL_CLOUDCONTROL);
                             STS calls go there too unless AWS_ENDPOINT_URL_STS is set
  --region <r>[,<r>...]      regions a query without WHERE region = ... reads (default: the file's regions,
                             else AWS_REGION)
  --user <name>              user allowed to connect (default: postgres)
  --password <pw>            its password (or PGBRIDGE_PASSWORD); without one, trust (loopback only)
  --auth <method>            scram-sha-256 (default with a password), md5 or password
  --tls-cert <file> --tls-key <file>   accept SSL connections
  --read-only                refuse INSERT, UPDATE and DELETE
  --cache-ttl-ms <n>         how long a Cloud Control read is reused (default 5000; 0: never)
  --cache redis://host:port  share the read cache and the call budget with every bridge on that Redis
  --call-budget <n>          at most n Cloud Control calls a second per account and region, spaced evenly (with
                             --cache: for all the bridges together; default: the rate learned from throttles)
  --max-concurrency <n>      Cloud Control calls in flight at once (default 8)
  --engines <n>              embedded PostgreSQL workers running statements side by side, about 300 MB
                             of memory each (default 2, or 1 on a single CPU)
  --types <glob>[,<glob>...]  resource types to serve, e.g. 'AWS::AppFlow::*,AWS::S3::Bucket'
                             (default: every type of the registry snapshot, about 1,200)
  --extra-types <name|file>[,...]  serve private and third-party types too: a name (MyOrg::Service::Thing)
                             is read with CloudFormation DescribeType in the first region at start; a
                             schema file (a path, * allowed in its last part) is read from disk
  --max-connections <n>      client connections at once, starting ones included; more get 53300 (default 100)
  --max-startup-connections <n>  connections still starting up or authenticating at once (default 64)
  --authentication-timeout <s>   seconds a client has to finish startup and authentication (default 60)
  --max-message-size <bytes> largest message a client may send: Query, Bind, CopyData... (default 64MB;
                             kB, MB and GB suffixes)
  --log-level <level>        pino level (default info)
  --log-format <fmt>         pretty (one line per event), json, or auto: pretty when stderr is a terminal
                             (default auto)
  --shutdown-timeout <s>     on SIGTERM or SIGINT, seconds running statements may take to finish before
                             sessions are terminated (default 30)
  --metrics-port <n>         serve Prometheus /metrics, /healthz and /readyz over HTTP on --host (0: any free port)`;

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv): ServerConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '5433' },
      demo: { type: 'boolean', default: false },
      endpoint: { type: 'string' },
      config: { type: 'string' },
      region: { type: 'string', multiple: true },
      user: { type: 'string', default: 'postgres' },
      password: { type: 'string' },
      auth: { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'read-only': { type: 'boolean', default: false },
      'cache-ttl-ms': { type: 'string', default: '5000' },
      cache: { type: 'string' },
      'call-budget': { type: 'string' },
      'max-concurrency': { type: 'string', default: '8' },
      engines: { type: 'string' },
      'max-connections': { type: 'string', default: '100' },
      'max-startup-connections': { type: 'string', default: '64' },
      'authentication-timeout': { type: 'string', default: '60' },
      'max-message-size': { type: 'string', default: '64MB' },
      'log-level': { type: 'string', default: 'info' },
      'log-format': { type: 'string', default: 'auto' },
      'shutdown-timeout': { type: 'string', default: '30' },
      'metrics-port': { type: 'string' },
      types: { type: 'string', multiple: true },
      'extra-types': { type: 'string', multiple: true },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const password = values.password ?? env.PGBRIDGE_PASSWORD;
  const method = (values.auth ?? (password ? 'scram-sha-256' : 'trust')) as AuthMethod;
  if (!['scram-sha-256', 'md5', 'password', 'trust'].includes(method))
    throw new Error(`--auth ${method}: unknown method`);
  if (method !== 'trust' && !password)
    throw new Error(`--auth ${method} needs --password or PGBRIDGE_PASSWORD`);
  const configPath = values.config ?? (env.AWS_SQL_BRIDGE_CONFIG || undefined);
  const file = configPath === undefined ? undefined : readConfigFile(configPath);
  const regionArgs = values.region?.flatMap((r) => r.split(',')).filter(Boolean);
  const regions = regionArgs?.length
    ? regionArgs
    : file?.regions
      ? file.regions
      : values.demo
        ? ['us-east-1', 'eu-west-1']
        : env.AWS_REGION
          ? [env.AWS_REGION]
          : [];
  // STS goes where Cloud Control goes (the emulator serves both) unless the SDK is told otherwise.
  const stsEndpoint = file?.stsEndpoint ?? (env.AWS_ENDPOINT_URL_STS ? undefined : values.endpoint);
  const engines = values.engines === undefined ? defaultEngines() : Number(values.engines);
  if (!Number.isInteger(engines) || engines < 1)
    throw new Error(`--engines ${values.engines}: give a whole number of at least 1`);
  const positive = (flag: string, value: string | undefined): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1)
      throw new Error(`--${flag} ${value}: give a whole number of at least 1`);
    return n;
  };
  const maxConnections = positive('max-connections', values['max-connections']);
  const maxStartupConnections = positive('max-startup-connections', values['max-startup-connections']);
  const authenticationTimeout = Number(values['authentication-timeout']);
  if (!(authenticationTimeout > 0 && authenticationTimeout <= 600))
    throw new Error(
      `--authentication-timeout ${values['authentication-timeout']}: give seconds, more than 0 and at most 600`,
    );
  const logFormat = values['log-format']!;
  if (logFormat !== 'auto' && logFormat !== 'pretty' && logFormat !== 'json')
    throw new Error(`--log-format ${logFormat}: give pretty, json or auto`);
  const shutdownTimeout = Number(values['shutdown-timeout']);
  if (!(shutdownTimeout >= 0 && shutdownTimeout <= 3600))
    throw new Error(
      `--shutdown-timeout ${values['shutdown-timeout']}: give seconds, from 0 (terminate at once) to 3600`,
    );
  const metricsPort = values['metrics-port'] === undefined ? undefined : Number(values['metrics-port']);
  if (
    metricsPort !== undefined &&
    !(Number.isInteger(metricsPort) && metricsPort >= 0 && metricsPort <= 65535)
  )
    throw new Error(`--metrics-port ${values['metrics-port']}: give a port number (0: any free one)`);
  const maxMessageBytes = byteSize(values['max-message-size']!);
  const cacheUrl = values.cache;
  if (cacheUrl !== undefined && !/^rediss?:\/\/[^/]/.test(cacheUrl))
    throw new Error('--cache: give a Redis URL, redis://host:port (rediss:// for TLS)');
  const callBudget = values['call-budget'] === undefined ? undefined : Number(values['call-budget']);
  if (callBudget !== undefined && !(callBudget > 0 && callBudget <= 100_000))
    throw new Error(`--call-budget ${values['call-budget']}: give calls a second, more than 0`);
  if (Boolean(values['tls-cert']) !== Boolean(values['tls-key']))
    throw new Error('--tls-cert and --tls-key go together');
  return {
    host: values.host!,
    port: Number(values.port),
    demo: values.demo!,
    endpoint: values.endpoint,
    regions,
    ...(file ? { accounts: file.accounts } : {}),
    ...(file?.organization ? { organization: file.organization } : {}),
    ...(stsEndpoint ? { stsEndpoint } : {}),
    auth: { method, users: password ? { [values.user!]: password } : {} },
    tls: values['tls-cert'] ? { certFile: values['tls-cert'], keyFile: values['tls-key']! } : undefined,
    readOnly: values['read-only']!,
    cacheTtlMs: Number(values['cache-ttl-ms']),
    ...(cacheUrl !== undefined ? { cacheUrl } : {}),
    ...(callBudget !== undefined ? { callBudget } : {}),
    maxConcurrency: Number(values['max-concurrency']),
    engines,
    maxConnections,
    maxStartupConnections,
    authenticationTimeoutMs: Math.round(authenticationTimeout * 1000),
    maxMessageBytes,
    logLevel: values['log-level']!,
    logFormat,
    shutdownTimeoutMs: Math.round(shutdownTimeout * 1000),
    ...(metricsPort !== undefined ? { metricsPort } : {}),
    types: parseTypes(values.types ?? []),
    extraTypes: (values['extra-types'] ?? [])
      .flatMap((v) => v.split(',').map((e) => e.trim()))
      .filter(Boolean),
  };
}

/** `AWS::AppFlow::*,AWS::S3::Bucket` (repeatable): each glob is three `::`-separated parts, `*` any run. */
export function parseTypes(args: string[]): string[] {
  const globs = args
    .flatMap((a) => a.split(','))
    .map((g) => g.trim())
    .filter(Boolean);
  for (const glob of globs) {
    if (!/^[A-Za-z0-9*]+::[A-Za-z0-9*]+::[A-Za-z0-9*]+$/.test(glob) && glob !== '*')
      throw new Error(
        `--types ${glob}: give a type name or a glob such as AWS::S3::Bucket or AWS::AppFlow::*`,
      );
  }
  return globs;
}

/** PostgreSQL's protocol limit for one message (pqcomm.h PQ_LARGE_MESSAGE_LIMIT). */
const MESSAGE_LIMIT = 0x3fffffff;

/** `65536`, `64kB`, `64MB`, `1GB` in bytes, between 64 kB and PostgreSQL's 1 GB message limit. */
function byteSize(value: string): number {
  const m = /^\s*(\d+)\s*(b|kb|mb|gb)?\s*$/i.exec(value);
  const unit = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(m?.[2] ?? 'b').toLowerCase()] ?? 1;
  const bytes = m ? Number(m[1]) * unit : NaN;
  if (!(bytes >= 65536))
    throw new Error(`--max-message-size ${value}: give a size of at least 64kB, e.g. 64MB`);
  return Math.min(bytes, MESSAGE_LIMIT);
}

/** Two engines let a long statement run beside short ones; with one CPU they would only share it. */
function defaultEngines(): number {
  return os.availableParallelism() > 1 ? 2 : 1;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
