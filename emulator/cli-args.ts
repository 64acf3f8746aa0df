import type { EmulatorOptions } from './index.js';
import { readSchemaFiles } from '../catalog/registry/extra-types.js';
import { isOperationName } from './operations.js';
import { parseOrgAccount } from './organizations.js';

export const usage = `Usage: node dist/emulator/main.js --port <port> [options]
  --port N                    port to listen on (0: ephemeral)
  --host H                    address to bind (default 127.0.0.1)
  --sample-data               seed demo connector profiles in us-east-1 and eu-west-1
  --completion-delay-ms N     how long Create/Update/Delete stay IN_PROGRESS (default 300)
  --latency-ms Op=N           added latency for an operation (Op may be *); repeatable
  --throttle-rps N            answer ThrottlingException above N requests per second
  --internal-error-rate R     share (0..1) of requests answered with ServiceInternalErrorException
  --fail-identifier ID=Code[:message]   requests on ID fail later with ErrorCode Code; repeatable
  --deny-operation Op         answer AccessDeniedException to Op; repeatable
  --list-full-model GLOB      ListResources of matching types (AWS::AppFlow::*) returns the whole read model;
                              others list only their primary identifier properties, as many live types do; repeatable
  --access-key KEY=ACCOUNT    requests signed with access key id KEY are in 12-digit ACCOUNT (every other key:
                              123456789012, where --sample-data goes); repeatable
  --deny-role ROLE_ARN        sessions of this role (STS AssumeRole) get AccessDeniedException; repeatable
  --external-id ROLE_ARN=ID   AssumeRole of this role needs ExternalId ID; repeatable
  --min-session-seconds N     shortest AssumeRole DurationSeconds accepted (default 900, as STS)
  --org-account ID=NAME[:STATE]  a member account of the emulated organization (STATE: ACTIVE by default,
                              SUSPENDED, PENDING_CLOSURE...); repeatable. Organizations ListAccounts lists them;
                              POST /__admin/organization changes them while it runs
  --org-management ID         the account allowed to list the organization (default 123456789012)
  --register-type FILE        a private type's registry schema (JSON; an array for several): DescribeType and
                              Cloud Control serve it as registered in the account; repeatable
  --log-level L               pino level (default info)
  --help                      print this and exit
It also answers CloudFormation ListTypes and DescribeType from catalog/registry/schemas-us-east-1.json.gz, and
STS AssumeRole and GetCallerIdentity (the SDK finds them with AWS_ENDPOINT_URL_STS), Account ListRegions, and
Organizations ListAccounts (pages of at most 2 accounts, so that clients page).`;

/** Parses the CLI flags into startEmulator options; throws an Error naming the bad flag. */
export function parseCliArgs(argv: string[]): EmulatorOptions {
  const options: EmulatorOptions = { logLevel: 'info' };
  const number = (flag: string, value: string | undefined) => {
    const n = Number(value);
    if (value === undefined || value.trim() === '' || !Number.isFinite(n))
      throw new Error(`${flag} needs a number`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--port':
        options.port = number(flag, value());
        break;
      case '--host':
        options.host = value();
        break;
      case '--sample-data':
        options.sampleData = true;
        break;
      case '--completion-delay-ms':
        options.completionDelayMs = number(flag, value());
        break;
      case '--latency-ms': {
        const [op, ms] = value().split('=');
        options.latencyMs = { ...options.latencyMs, [op!]: number(flag, ms) };
        break;
      }
      case '--throttle-rps':
        options.throttleRps = number(flag, value());
        break;
      case '--internal-error-rate':
        options.internalErrorRate = number(flag, value());
        break;
      case '--fail-identifier': {
        const v = value();
        const eq = v.lastIndexOf('=');
        if (eq <= 0) throw new Error(`${flag} needs ID=ErrorCode[:message]`);
        const [errorCode, ...message] = v.slice(eq + 1).split(':');
        const failure = { errorCode, ...(message.length > 0 ? { statusMessage: message.join(':') } : {}) };
        options.failIdentifiers = {
          ...options.failIdentifiers,
          [v.slice(0, eq)]: failure,
        } as EmulatorOptions['failIdentifiers'];
        break;
      }
      case '--deny-operation': {
        const op = value();
        if (!isOperationName(op)) throw new Error(`${flag}: unknown operation ${op}`);
        options.denyOperations = [...(options.denyOperations ?? []), op];
        break;
      }
      case '--list-full-model':
        options.listFullModel = [...(options.listFullModel ?? []), ...value().split(',').filter(Boolean)];
        break;
      case '--access-key': {
        const [key, account] = value().split('=');
        if (!key || !/^\d{12}$/.test(account ?? ''))
          throw new Error(`${flag} needs KEY=<12-digit account id>`);
        options.accessKeys = { ...options.accessKeys, [key]: account! };
        break;
      }
      case '--deny-role':
        options.denyRoles = [...(options.denyRoles ?? []), value()];
        break;
      case '--external-id': {
        const v = value();
        const eq = v.lastIndexOf('=');
        if (eq <= 0) throw new Error(`${flag} needs ROLE_ARN=ID`);
        options.externalIds = { ...options.externalIds, [v.slice(0, eq)]: v.slice(eq + 1) };
        break;
      }
      case '--min-session-seconds':
        options.minSessionSeconds = number(flag, value());
        break;
      case '--org-account':
        options.orgAccounts = [...(options.orgAccounts ?? []), parseOrgAccount(value(), flag)];
        break;
      case '--org-management': {
        const id = value();
        if (!/^\d{12}$/.test(id)) throw new Error(`${flag} needs a 12-digit account id`);
        options.orgManagement = id;
        break;
      }
      case '--register-type':
        options.registerTypes = [...(options.registerTypes ?? []), ...readSchemaFiles(value(), flag)];
        break;
      case '--log-level':
        options.logLevel = value() as EmulatorOptions['logLevel'];
        break;
      default:
        throw new Error(`unknown flag ${flag}`);
    }
  }
  return options;
}
