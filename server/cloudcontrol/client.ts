import {
  CloudControlClient,
  GetResourceCommand,
  ListResourcesCommand,
  type ResourceDescription,
} from '@aws-sdk/client-cloudcontrol';
import pLimit from 'p-limit';
import { pino, type Logger } from 'pino';
import { resourceTypeRow } from '../../catalog/cloud-control/resource-types.js';
import type { Catalog, RequestsTable, ResourceTable, Table } from '../../catalog/types.js';
import { PgError, SqlState } from '../errors.js';
import * as metrics from '../metrics.js';
import { countRetries, countThrottles, type CallTally } from './call-tracking.js';
import type { NeededColumns } from '../plan/columns.js';
import { accountFor, Account, defaultAccountName, type AccountPin } from './accounts.js';
import { AccountSet } from './account-set.js';
import {
  anyTypeRow,
  anyTypeView,
  checkTypeName,
  isAnyTypeView,
  missingTypeName,
  servesAnyType,
} from './any-type.js';
import type { CallBudget } from './budget.js';
import { ReadCache, untilAborted, type Loader } from './cache.js';
import { isResourceNotFound, pgErrorFromAws } from './errors.js';
import { listResourceRequests, type AccountColumns } from './requests.js';
import { resourceNoun, rowBuilder, type Description, type Row } from './rows.js';
import type { SharedReadCache } from './shared-cache.js';
import { RateLimiters } from './rate-limiter.js';
import { Slots } from './slots.js';
import { abortable, passAbortSignals } from './abortable.js';
import { PacedRetryStrategy, paceAttempts } from './throttle-retry.js';
import type { ReadContext } from './read-context.js';
import { startRead } from './trace.js';

export interface CloudControlOptions {
  /** Override (the emulator); else the SDK's own resolution (AWS_ENDPOINT_URL_CLOUDCONTROL honoured by the SDK). */
  endpoint?: string;
  /** Used when a query pins no region; from a flag, else AWS_REGION; may be empty. */
  defaultRegions: string[];
  /** Per-process bound on in-flight Cloud Control calls (default 8). */
  maxConcurrency?: number;
  /** SDK attempts per call, the first included (default 5); throttling and 5xx are retried with backoff. */
  maxAttempts?: number;
  /** Read cache TTL (default 5000); 0 disables caching but keeps coalescing of concurrent identical calls. */
  cacheTtlMs?: number;
  /** Cloud Control's RoleArn parameter: the role it assumes to run the resource handlers. */
  roleArn?: string;
  /**
   * The accounts a query without account_id / account_name in WHERE reads, each with its credentials and
   * regions; absent: one account, `default`, on the SDK's default chain and defaultRegions.
   */
  accounts?: Account[];
  /** With `accounts` absent: where the default account's GetCallerIdentity goes (the emulator). */
  stsEndpoint?: string;
  /** `--cache redis://...`: the read cache shared by every bridge on that Redis (this process then keeps none). */
  sharedCache?: SharedReadCache;
  /** `--call-budget`: the calls a second each account and region may take: the ceiling of their Pacers. */
  callBudget?: number;
  /** With --cache and --call-budget: the budget's slots shared through Redis by every bridge. */
  budget?: CallBudget;
}

/** How a read treats an account or region that fails: the whole read fails, or the rest is returned with a warning. */
export interface ReadOptions {
  /** `aws.partial_results`: rows from the accounts and regions that answered, a WARNING for each that did not. */
  partialResults?: boolean;
  onWarning?: (message: string) => void;
  /** The statement's call tally, accepted cache age, result-cache inputs and EXPLAIN ANALYZE trace. */
  context?: ReadContext;
}

/** What a call is about, for the debug log and the limiter; never resource properties. */
export interface CallInfo {
  operation: string;
  region: string;
  /** The configured account; absent: the first one. */
  account?: AccountPin;
  typeName?: string;
  identifier?: string;
  /** The statement the call counts for (cloud_control.sessions); never logged. */
  tally?: CallTally;
}

export interface FetchKeys {
  region?: string[];
  /** The configured accounts a read is narrowed to, by id and by name. */
  account_id?: string[];
  account_name?: string[];
  data__identifier?: string[];
  /** The statement needs at most this many rows of each region (a plain LIMIT): read no more. */
  limit?: number;
  /** Requests table only: ListResourceRequests' ResourceRequestStatusFilter. */
  operation?: string[];
  operation_status?: string[];
  /** cloud_control.resources only: the resource types and identifiers its WHERE pins. */
  type_name?: string[];
  identifier?: string[];
  /** A compound identifier's part columns (catalog `key`), e.g. `rest_api_id`: pinning every part pins the identifier. */
  [partColumn: string]: string[] | number | undefined;
}

type Got = { description: Description };
type Listed = { descriptions: Description[] };
type Cached = Got | Listed;

/** One account's region: where a read's calls go. */
interface Target {
  account: Account;
  region: string;
}

/** How long a removed account's SDK clients stay open for statements still reading it. */
const retiredClientMs = 5 * 60_000;

// Loose on purpose: the SDK validates the region as a host label, this only keeps junk out of messages.
const regionPattern = /^[a-z]{2}(-[a-z0-9]+)+$/;

export class CloudControl {
  readonly #options: CloudControlOptions;
  readonly #catalog: Catalog;
  readonly #log: Logger;
  readonly #clients = new Map<string, CloudControlClient>();
  /** Replaced by an organization refresh (replaceAccounts); each statement reads the set it first read. */
  readonly #accountSet: AccountSet;
  /** Calls in flight at once, per account: a slow or throttled account does not hold up the others. */
  readonly #limits = new Map<string, Slots>();
  /** The rate each account and region may call at, learned from throttles (rate-limiter.ts). */
  readonly #rateLimiters: RateLimiters;
  readonly #cache: ReadCache<Cached>;
  /** Bumped by invalidate(): reads that were in flight during a write land under a key no one asks for again. */
  readonly #generations = new Map<string, number>();

  constructor(options: CloudControlOptions, catalog: Catalog, logger?: Logger) {
    this.#options = options;
    this.#catalog = catalog;
    this.#log = (logger ?? pino({ level: 'silent' })).child({ component: 'cloudcontrol' });
    this.#accountSet = new AccountSet(
      options.accounts?.length
        ? options.accounts
        : [
            new Account(
              { name: defaultAccountName, source: { kind: 'default' }, regions: options.defaultRegions },
              undefined,
              options.stsEndpoint ?? options.endpoint,
            ),
          ],
    );
    this.#rateLimiters = new RateLimiters(options.callBudget, (scope, rate, admitted, marginMs) => {
      const [account, region] = scope.split('\u0000');
      this.#log.info(
        { account, region, callsPerSecond: Math.round(rate * 10) / 10, admitted, marginMs },
        admitted === undefined
          ? 'Cloud Control call rate raised (no throttle for a while)'
          : 'Cloud Control throttled: call rate learned',
      );
    });
    this.#cache = new ReadCache<Cached>({
      ttlMs: options.cacheTtlMs ?? 5000,
      keep: options.sharedCache === undefined,
      maxSize: 64 * 1024 * 1024,
      sizeOf,
      onLookup: (result) => metrics.later(() => metrics.cacheLookups.inc({ result })),
    });
  }

  get catalog(): Catalog {
    return this.#catalog;
  }

  /** Whether calls are logged: the log object of each is built only then. */
  get #debug(): boolean {
    return this.#log.isLevelEnabled('debug');
  }

  get #concurrency(): number {
    return Math.max(1, this.#options.maxConcurrency ?? 8);
  }

  /** The configured accounts, in the configuration's order (the latest set, after an organization refresh). */
  get accounts(): readonly Account[] {
    return this.#accounts;
  }

  get #accounts(): readonly Account[] {
    return this.#accountSet.latest;
  }

  /**
   * After an organization refresh (server/cloudcontrol/member-refresh.ts): statements that have not read yet read
   * `accounts`. What was kept for an account no longer read goes: cached reads now (all of them when the set
   * changed), its SDK clients once a statement still reading it has had time to finish (each refresh also sweeps
   * what such a statement made since).
   */
  replaceAccounts(accounts: readonly Account[]): void {
    const changed = this.#accountSet.replace(accounts);
    const live = new Set(accounts.map((a) => a.scope));
    // A change empties the read cache: a statement still reading the old set then keeps no answer (its reads
    // settle after the clear, so the result cache does not keep what it computes).
    if (changed) this.#cache.clear();
    else this.#cache.drop((key) => !live.has((JSON.parse(key) as string[]).at(-1)!));
    for (const [key, client] of this.#clients)
      if (!live.has(key.split('\u0000')[0]!)) {
        this.#clients.delete(key);
        setTimeout(() => client.destroy(), retiredClientMs).unref();
      }
    const names = new Set(accounts.map((a) => a.name));
    for (const name of this.#limits.keys()) if (!names.has(name)) this.#limits.delete(name);
  }

  /** One SDK client per account and region, created lazily and reused (writes use it too). */
  client(region: string, account: Account = this.#accounts[0]!): CloudControlClient {
    const key = `${account.name}\u0000${region}`;
    let client = this.#clients.get(`${account.scope}\u0000${region}`);
    if (!client) {
      client = new CloudControlClient({
        region,
        // The SDK refreshes what the provider returns before it expires (an assumed role is assumed again).
        ...(account.credentials ? { credentials: account.credentials } : {}),
        ...(this.#options.endpoint ? { endpoint: this.#options.endpoint } : {}),
        maxAttempts: this.#options.maxAttempts ?? 5,
        // The resolved middleware is kept per command class: calls pass their abort signal with abortable().
        cacheMiddleware: true,
        // Throttled attempts are paced by the account and region's Pacer (paceAttempts below), not backed off.
        retryStrategy: new PacedRetryStrategy(this.#options.maxAttempts ?? 5),
        // Without timeouts a stalled connection would hold a limiter slot until statement_timeout.
        requestHandler: { connectionTimeout: 5000, requestTimeout: 30000, throwOnRequestTimeout: true },
        // No SDK logger: its middleware would log inputs, and DesiredState can hold credentials.
      });
      passAbortSignals(client);
      countThrottles(client, region);
      paceAttempts(client, key, this.#rateLimiters.pacer(key), this.#options.budget);
      const roleArn = this.#options.roleArn;
      if (roleArn) {
        client.middlewareStack.add(
          (next) => (args) => {
            const input = args.input as { TypeName?: string; RoleArn?: string };
            // Only requests about a resource type take RoleArn.
            if (input.TypeName !== undefined && input.RoleArn === undefined) input.RoleArn = roleArn;
            return next(args);
          },
          { step: 'initialize', name: 'roleArn' },
        );
      }
      this.#clients.set(`${account.scope}\u0000${region}`, client);
    }
    return client;
  }

  /**
   * Runs one Cloud Control call within the process-wide concurrency bound and logs it at debug
   * (operation, region, identifier, duration; never properties). Errors come back as the SDK threw them.
   */
  async call<T>(
    info: CallInfo,
    signal: AbortSignal | undefined,
    run: (client: CloudControlClient) => Promise<T>,
  ): Promise<T> {
    const { tally } = info;
    const accounts = this.#accountSet.current(tally);
    // An account pinned by name (every read's) is found without a promise; by id it may need STS.
    const account =
      info.account === undefined
        ? accounts[0]!
        : info.account.id === undefined && info.account.name !== undefined
          ? (accounts.find((a) => a.name === info.account!.name) ??
            (await accountFor(accounts, info.account, signal)))
          : await accountFor(accounts, info.account, signal);
    let limit = this.#limits.get(account.name);
    if (!limit) this.#limits.set(account.name, (limit = new Slots(this.#concurrency)));
    const queuedAt = performance.now();
    const queued = limit.run(async () => {
      signal?.throwIfAborted();
      const started = performance.now();
      metrics.later(() => metrics.cloudControlQueueSeconds.observe((started - queuedAt) / 1000));
      if (tally) tally.inFlight++;
      try {
        const result = await run(this.client(info.region, account));
        const meta = (result as { $metadata?: { attempts?: number; requestId?: string } }).$metadata;
        countCall(info, 'ok', started);
        countRetries(info.operation, info.region, meta?.attempts);
        if (this.#debug)
          this.#log.debug(
            {
              ...logged(info),
              ms: Math.round(performance.now() - started),
              attempts: meta?.attempts,
              requestId: meta?.requestId,
            },
            'cloud control call',
          );
        return result;
      } catch (err) {
        const e = err as Error & {
          $metadata?: { attempts?: number; httpStatusCode?: number; requestId?: string };
        };
        countCall(info, e.name || 'error', started);
        countRetries(info.operation, info.region, e.$metadata?.attempts);
        if (this.#debug)
          this.#log.debug(
            {
              ...logged(info),
              ms: Math.round(performance.now() - started),
              error: e.name,
              status: e.$metadata?.httpStatusCode,
              attempts: e.$metadata?.attempts,
              requestId: e.$metadata?.requestId,
            },
            'cloud control call failed',
          );
        throw err;
      } finally {
        if (tally) {
          tally.inFlight--;
          tally.done++;
        }
      }
    });
    // A call still queued behind the limiter is abandoned at once; the queued task then sees the abort.
    return untilAborted(queued, signal);
  }

  /**
   * Rows for one table read, fetched as the keys allow: resource table with identifiers -> GetResource
   * each (region x identifier; a missing one is no row); without -> ListResources, then GetResource each,
   * with a notice; collection table -> ListResources (pinned identifiers filtered here); requests table ->
   * ListResourceRequests per region, filtered by the pinned operations and statuses (never cached: it shows
   * requests in flight).
   * Rows are keyed by column name; jsonb values are parsed JSON; write-only columns and data__patchdocument
   * are null. Rejects with a PgError, or with `signal.reason` itself when the signal aborts.
   * cloud_control.resources (and its view of one type): per pinned type_name, GetResource per identifier,
   * else ListResources; no pinned type_name is an error (22023).
   * `columns` are the columns the statement may read: a list gives only the primary identifier for many types
   * (and omits what has no value), so when they go beyond what the list provides, each listed resource is read
   * with GetResource (hydrated). A type whose list handler needs a parent (catalog `listRequires`) lists once
   * per pinned parent value, sent as ResourceModel; a parent not pinned is 22023 before any call.
   */
  async fetchRows(
    table: Table,
    keys: FetchKeys,
    onNotice: (message: string) => void,
    signal?: AbortSignal,
    columns: NeededColumns = 'all',
    options: ReadOptions = {},
  ): Promise<Row[]> {
    // From the catalog itself: no region, no call.
    if (table.kind === 'resource_types') return this.#catalog.resourceTypes.map(resourceTypeRow);
    // The session layer has these rows (server/session/load.ts); none come from AWS.
    if (table.kind === 'sessions') return [];
    if (servesAnyType(table) || isAnyTypeView(table))
      return this.#anyTypeRows(table, keys, signal, columns, options);
    if (table.kind === 'requests') return this.#requestRows(table, keys, signal, columns, options);
    const resourceTable: ResourceTable = table;
    // Cloud Control identifiers are 1-1024 characters: any other value matches no resource.
    const pinned = keys.data__identifier ?? identifiersFromParts(resourceTable, keys);
    const ids =
      pinned === undefined ? undefined : unique(pinned).filter((id) => id.length >= 1 && id.length <= 1024);
    requireHandlers(resourceTable, ids !== undefined);
    const lists = table.kind === 'collection' || ids === undefined;
    const models = lists ? listModels(resourceTable, keys) : [undefined];
    const pending = this.#targets(resourceTable, keys, signal, options);
    const targets = Array.isArray(pending) ? pending : await pending;
    if (targets.length === 0 || ids?.length === 0 || models.length === 0) return [];
    const hydrate = table.kind === 'collection' && needsGet(resourceTable, columns);
    const buildRow = rowBuilder(resourceTable, columns);

    const readTarget = async (target: Target, outer: AbortSignal): Promise<Row[]> => {
      const { region } = target;
      // One GetResource, or one list (its pages one after another): nothing to fan out or stop.
      const single = table.kind === 'collection' ? models.length === 1 && !hydrate : ids?.length === 1;
      const { scope, fanOut, guard } = failFast(this.#concurrency, outer, single);
      const columnsOf = this.#accountColumns(target, resourceTable, keys, columns, scope);
      const account = 'account_name' in columnsOf ? columnsOf : await columnsOf;
      // A row shared by every resource (rowBuilder) stays one object with the account's columns too.
      let shared: { built: Row; row: Row } | undefined;
      const toRow = (d: Description): Row => {
        const built = buildRow(region, d);
        if (shared?.built === built) return shared.row;
        const row = { ...built, ...account };
        if (Object.isFrozen(built)) shared = { built, row: Object.freeze(row) };
        return row;
      };
      const listAll = async (): Promise<Description[]> => {
        const perModel = await Promise.all(
          models.map((model) =>
            guard(() => this.#list(resourceTable, target, model, scope, options.context)),
          ),
        );
        return perModel.flatMap(({ descriptions }, i) => descriptions.map((d) => withModel(d, models[i])));
      };
      if (table.kind === 'collection') {
        const wanted = ids && new Set(ids);
        const keep = (d: Description) => !wanted || (d.Identifier !== undefined && wanted.has(d.Identifier));
        if (!hydrate && models.length === 1 && models[0] === undefined) {
          // One list, its rows built page by page while the next page is in flight (count(*) over 10,000).
          const { descriptions, rows } = await this.#list(
            resourceTable,
            target,
            undefined,
            scope,
            options.context,
            (d) => (keep(d) ? toRow(d) : undefined),
          );
          return rows ?? descriptions.filter(keep).map(toRow);
        }
        const listed = (await listAll()).filter(keep);
        if (!hydrate) return listed.map(toRow);
        // The list lacks columns the statement reads: read each resource (a gone one is no row).
        let kept = listed;
        if (keys.limit !== undefined && keys.limit < kept.length) kept = kept.slice(0, keys.limit);
        const got = await Promise.all(
          kept.map((d) =>
            d.Identifier === undefined
              ? d
              : fanOut(() =>
                  guard(() => this.#get(resourceTable, target, d.Identifier!, scope, options.context)),
                ),
          ),
        );
        return got.filter((d): d is Description => d !== undefined).map(toRow);
      }
      let targetIds = ids;
      if (!targetIds) {
        const listed = await listAll();
        targetIds = unique(listed.map((d) => d.Identifier).filter((id): id is string => id !== undefined));
        const needed = keys.limit !== undefined && keys.limit < targetIds.length ? keys.limit : undefined;
        onNotice(this.#fanOutNotice(resourceTable, this.#where(target), targetIds.length, needed));
        if (needed !== undefined) targetIds = targetIds.slice(0, needed);
      }
      const got = await Promise.all(
        targetIds.map((id) =>
          fanOut(() => guard(() => this.#get(resourceTable, target, id, scope, options.context))),
        ),
      );
      return got.filter((d): d is Description => d !== undefined).map(toRow);
    };
    return this.#readTargets(targets, signal, options, readTarget);
  }

  /**
   * Reads each target (account and region) in parallel. Strict reads stop every target at the first failure and
   * fail with it, naming the account; partial ones (aws.partial_results) let the others finish and warn of each
   * that failed. `readTarget` runs its calls under `outer`, which aborts with the statement or the first failure.
   */
  async #readTargets(
    targets: Target[],
    signal: AbortSignal | undefined,
    options: ReadOptions,
    readTarget: (target: Target, outer: AbortSignal) => Promise<Row[]>,
  ): Promise<Row[]> {
    // One target has no other to stop: its reads run under the statement's signal itself.
    const failed = targets.length > 1 ? new AbortController() : undefined;
    const outer = !failed
      ? (signal ?? new AbortController().signal)
      : signal
        ? AbortSignal.any([signal, failed.signal])
        : failed.signal;
    const readOne = async (target: Target): Promise<Row[]> => {
      try {
        return await readTarget(target, outer);
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        // A target stopped by another's failure: Promise.all already rejects with that one.
        if (failed?.signal.aborted) throw failed.signal.reason;
        const named = this.#named(err, target.account);
        if (!options.partialResults) {
          failed?.abort(named);
          throw named;
        }
        options.onWarning?.(missingWarning(target, named));
        return [];
      }
    };
    // One target (a point read's): its rows as they are, without a Promise.all over one.
    if (targets.length === 1) return readOne(targets[0]!);
    return (await Promise.all(targets.map(readOne))).flat();
  }

  /**
   * The accounts and regions a read goes to: the configured accounts its account_name / account_id pins (all
   * without), each in the regions pinned, else the account's own. An account whose id cannot be read while
   * account_id is pinned fails the read, or is left out with a warning (partial results).
   */
  #targets(
    table: Table,
    keys: FetchKeys,
    signal: AbortSignal | undefined,
    options: ReadOptions,
  ): Target[] | Promise<Target[]> {
    let accounts = this.#accountSet.current(options.context?.calls);
    if (keys.account_name) accounts = accounts.filter((a) => keys.account_name!.includes(a.name));
    // Without account_id pinned there is nothing to wait for: no promise (a point read's path).
    if (!keys.account_id) return this.#inRegions(accounts, keys);
    return this.#targetsById(table, keys, accounts, signal, options);
  }

  /** The accounts whose id is one pinned (an id not known yet is read with STS GetCallerIdentity). */
  async #targetsById(
    table: Table,
    keys: FetchKeys,
    accounts: readonly Account[],
    signal: AbortSignal | undefined,
    options: ReadOptions,
  ): Promise<Target[]> {
    const wanted = keys.account_id ?? [];
    const ids = await Promise.all(
      accounts.map(async (a) => {
        try {
          return await a.id(signal);
        } catch (err) {
          if (signal?.aborted) throw signal.reason;
          const region = a.regions[0] ?? 'us-east-1';
          const named = this.#named(
            pgErrorFromAws(err, { operation: 'GetCallerIdentity', table, region }),
            a,
          );
          if (!options.partialResults) throw named;
          options.onWarning?.(`no rows from account "${a.name}": ${named.message}`);
          return undefined;
        }
      }),
    );
    const pinned = accounts.filter((_, i) => ids[i] !== undefined && wanted.includes(ids[i]!));
    return this.#inRegions(pinned, keys);
  }

  /** Each account in the regions pinned, else in its own. */
  #inRegions(accounts: readonly Account[], keys: FetchKeys): Target[] {
    return accounts.flatMap((account) =>
      this.#regions(keys.region, account.regions).map((region) => ({ account, region })),
    );
  }

  /**
   * The account id a row shows. Without a configuration file an id that cannot be read (no STS endpoint
   * reachable) is NULL, as before accounts existed; a configured account's is an error.
   */
  async #accountId(
    account: Account,
    table: Table,
    region: string,
    signal: AbortSignal,
  ): Promise<string | null> {
    try {
      return await account.id(signal);
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      if (this.#options.accounts?.length)
        throw pgErrorFromAws(err, { operation: 'GetCallerIdentity', table, region });
      this.#log.warn({ error: (err as Error).name }, 'account_id is NULL: STS GetCallerIdentity failed');
      return null;
    }
  }

  /** account_name and account_id of a target's rows; the id (maybe an STS call) only when the statement may read it. */
  #accountColumns(
    target: Target,
    table: Table,
    keys: FetchKeys,
    columns: NeededColumns,
    signal: AbortSignal,
  ): AccountColumns | Promise<AccountColumns> {
    const withId = columns === 'all' || columns.has('account_id') || keys.account_id !== undefined;
    const account_name = target.account.name;
    // No promise when the id is not read or known already (every read after the account's first).
    const ready = withId ? target.account.readyId : null;
    if (ready !== undefined) return { account_name, account_id: ready };
    return this.#accountId(target.account, table, target.region, signal).then((account_id) => ({
      account_name,
      account_id,
    }));
  }

  /** With several accounts, an error says which one it came from. */
  #named<E>(err: E, account: Account): E | PgError {
    if (this.#accounts.length < 2 || !(err instanceof PgError)) return err;
    return new PgError(err.code, `account ${accountLabel(account)}: ${err.message}`, err.fields);
  }

  /** `us-east-1`, or `us-east-1 of account "prod"` when several are configured: where notices say calls go. */
  #where(target: Target): string {
    return this.#accounts.length < 2 ? target.region : `${target.region} of account "${target.account.name}"`;
  }

  /**
   * The Cloud Control calls fetchRows would make for this read, one line each, without making any (EXPLAIN):
   * operation, type, region, the identifiers or the ResourceModel, and whether the read cache would serve it.
   * Refuses as fetchRows would (no region, a parent not pinned, a missing handler).
   */
  planRows(table: Table, keys: FetchKeys, columns: NeededColumns = 'all', acceptedAgeMs?: number): string[] {
    if (table.kind === 'resource_types' || table.kind === 'sessions') return [];
    if (servesAnyType(table) || isAnyTypeView(table)) {
      const view = isAnyTypeView(table) ? table : undefined;
      const generic = view ? view.anyType : (table as RequestsTable);
      const typeNames = view ? [view.resource.typeName] : keys.type_name;
      if (typeNames === undefined) throw missingTypeName(generic);
      const pinned = view ? keys.data__identifier : keys.identifier;
      const ids = pinned === undefined ? undefined : unique(pinned).filter(validIdentifier);
      const hydrate = columns === 'all' || columns.has('properties');
      for (const typeName of typeNames) checkTypeName(typeName);
      const targets = this.#plannedTargets(keys);
      return unique(typeNames).flatMap((typeName) => {
        const typed = view ?? anyTypeView(generic, typeName, this.#catalog);
        return targets.flatMap((target) =>
          this.#planRegion(
            typed,
            target,
            ids,
            [undefined],
            hydrate && !typed.resource.definition.listsWholeModel,
            acceptedAgeMs,
          ),
        );
      });
    }
    if (table.kind === 'requests')
      return this.#plannedTargets(keys).map(
        (target) => `ListResourceRequests in ${this.#where(target)} (all pages; never cached)`,
      );
    const resourceTable: ResourceTable = table;
    const pinned = keys.data__identifier ?? identifiersFromParts(resourceTable, keys);
    const ids = pinned === undefined ? undefined : unique(pinned).filter(validIdentifier);
    requireHandlers(resourceTable, ids !== undefined);
    const lists = table.kind === 'collection' || ids === undefined;
    const models = lists ? listModels(resourceTable, keys) : [undefined];
    const hydrate = table.kind === 'resource' || needsGet(resourceTable, columns);
    const targets = this.#plannedTargets(keys);
    const lines = targets.flatMap((target) =>
      this.#planRegion(
        resourceTable,
        target,
        table.kind === 'collection' ? undefined : ids,
        models,
        hydrate,
        acceptedAgeMs,
        ids,
      ),
    );
    if (keys.limit !== undefined && hydrate && ids === undefined)
      lines.push(`  LIMIT ${keys.limit}: at most ${keys.limit} GetResource per region`);
    return lines;
  }

  /** The targets a read would go to, without a call: an account whose id needs one is planned as read (a superset, as keys are). */
  #plannedTargets(keys: FetchKeys): Target[] {
    const accounts = this.#accounts.filter(
      (a) =>
        (!keys.account_name || keys.account_name.includes(a.name)) &&
        (!keys.account_id || a.knownId === undefined || keys.account_id.includes(a.knownId)),
    );
    return accounts.flatMap((account) =>
      this.#regions(keys.region, account.regions).map((region) => ({ account, region })),
    );
  }

  #planRegion(
    table: ResourceTable,
    target: Target,
    getIds: string[] | undefined,
    models: (ListModel | undefined)[],
    hydrate: boolean,
    acceptedAgeMs: number | undefined,
    filterIds?: string[],
  ): string[] {
    const typeName = table.resource.typeName;
    const region = this.#where(target);
    const cachedGet = (id: string) =>
      this.#cache.has(this.#key(target, typeName, 'GetResource', id), acceptedAgeMs);
    const gets = (ids: string[]): string => {
      const cached = ids.filter(cachedGet).length;
      const shown = ids.slice(0, 10).map((id) => JSON.stringify(id));
      const more = ids.length > shown.length ? `, ... (${ids.length} in all)` : '';
      return `${ids.length} × GetResource ${typeName} in ${region}: ${shown.join(', ')}${more}${cachedNote(cached, ids.length)}`;
    };
    if (getIds !== undefined) return getIds.length === 0 ? [] : [gets(getIds)];
    const lines: string[] = [];
    for (const model of models) {
      const resourceModel = model === undefined ? undefined : JSON.stringify(model);
      const key = this.#key(target, typeName, 'ListResources', resourceModel);
      const listed = this.#cache.peek(key, acceptedAgeMs) as Listed | undefined;
      lines.push(
        `ListResources ${typeName} in ${region}${resourceModel ? ` ResourceModel ${resourceModel}` : ''} (all pages)` +
          (listed ? ` (cached: ${listed.descriptions.length} listed)` : ''),
      );
      if (!hydrate) continue;
      const wanted = filterIds && new Set(filterIds);
      const ids = listed
        ? unique(
            listed.descriptions.map((d) => d.Identifier).filter((id): id is string => id !== undefined),
          ).filter((id) => !wanted || wanted.has(id))
        : undefined;
      lines.push(
        ids
          ? `  then ${gets(ids)}`
          : `  then GetResource ${typeName} in ${region} for each resource listed` +
              (wanted ? ` among ${[...wanted].map((id) => JSON.stringify(id)).join(', ')}` : ''),
      );
    }
    return lines;
  }

  /**
   * cloud_control.resources: rows of each pinned type in each account and region the statement pins (every
   * configured account without), with the failure handling of resource tables (#readTargets).
   */
  async #anyTypeRows(
    table: Table,
    keys: FetchKeys,
    signal: AbortSignal | undefined,
    columns: NeededColumns,
    options: ReadOptions,
  ): Promise<Row[]> {
    const view = isAnyTypeView(table) ? table : undefined;
    const generic = view ? view.anyType : (table as RequestsTable);
    const typeNames = view ? [view.resource.typeName] : keys.type_name;
    if (typeNames === undefined) throw missingTypeName(generic);
    for (const typeName of typeNames) checkTypeName(typeName);
    const pinned = view ? keys.data__identifier : keys.identifier;
    const ids =
      pinned === undefined ? undefined : unique(pinned).filter((id) => id.length >= 1 && id.length <= 1024);
    if (typeNames.length === 0 || ids?.length === 0) return [];
    const targets = await this.#targets(generic, keys, signal, options);

    const readTarget = async (target: Target, outer: AbortSignal): Promise<Row[]> => {
      const { region } = target;
      const { scope, fanOut, guard } = failFast(this.#concurrency, outer);
      const account = await this.#accountColumns(target, generic, keys, columns, scope);
      const rowsOf = (typeName: string, descriptions: (Description | undefined)[]) =>
        descriptions
          .filter((d): d is Description => d !== undefined)
          .map((d) => ({ ...anyTypeRow(typeName, region, d), ...account }));
      const read = async (typeName: string): Promise<Row[]> => {
        const typed = view ?? anyTypeView(generic, typeName, this.#catalog);
        const getEach = (targetIds: string[]) =>
          Promise.all(
            targetIds.map((id) =>
              fanOut(() => guard(() => this.#get(typed, target, id, scope, options.context))),
            ),
          );
        if (ids) return rowsOf(typeName, await getEach(ids));
        const { descriptions: listed } = await guard(() =>
          this.#list(typed, target, undefined, scope, options.context),
        );
        // A list gives many types' identifiers alone: properties needs each resource read.
        const hydrate =
          !typed.resource.definition.listsWholeModel && (columns === 'all' || columns.has('properties'));
        if (!hydrate) return rowsOf(typeName, listed);
        const got = await getEach(
          unique(listed.map((d) => d.Identifier).filter((id): id is string => id !== undefined)),
        );
        return rowsOf(typeName, got);
      };
      return (await Promise.all(unique(typeNames).map((typeName) => guard(() => read(typeName))))).flat();
    };
    return this.#readTargets(targets, signal, options, readTarget);
  }

  /** cloud_control.resource_requests: the requests of each account and region read, all pages. */
  async #requestRows(
    table: Table,
    keys: FetchKeys,
    signal: AbortSignal | undefined,
    columns: NeededColumns,
    options: ReadOptions,
  ): Promise<Row[]> {
    const filter = {
      ...(keys.operation ? { operations: keys.operation } : {}),
      ...(keys.operation_status ? { statuses: keys.operation_status } : {}),
    };
    const targets = await this.#targets(table, keys, signal, options);
    return this.#readTargets(targets, signal, options, async (target, outer) => {
      const account = await this.#accountColumns(target, table, keys, columns, outer);
      return listResourceRequests(this, target.region, filter, outer, account, options.context?.calls);
    });
  }

  /** Closes the SDK clients' pooled connections (server shutdown). */
  destroy(): void {
    for (const client of this.#clients.values()) client.destroy();
    this.#clients.clear();
  }

  /** The server's read cache TTL: how old a read sessions accept unless they set aws.cache_ttl. */
  get cacheTtlMs(): number {
    return this.#cache.ttlMs;
  }

  /** Empties the read cache (cloud_control.clear_cache()), the shared one too. */
  async clearCache(): Promise<void> {
    this.#cache.clear();
    await this.#options.sharedCache?.clear();
  }

  /** Drop cached reads of a resource type (after a write), in the shared cache too. */
  async invalidate(typeName: string, region?: string): Promise<void> {
    const scope = region === undefined ? typeName : `${typeName}\u0000${region}`;
    this.#generations.set(scope, (this.#generations.get(scope) ?? 0) + 1);
    const shared = this.#options.sharedCache?.drop(typeName, region);
    this.#cache.drop((key) => {
      const [keyRegion, keyType] = JSON.parse(key) as string[];
      return keyType === typeName && (region === undefined || keyRegion === region);
    });
    await shared;
  }

  /** The account's name comes last: invalidate() reads region and type from the front. */
  #key({ account, region }: Target, typeName: string, operation: string, identifier = ''): string {
    const generation = [
      this.#generations.get(typeName) ?? 0,
      this.#generations.get(`${typeName}\u0000${region}`) ?? 0,
    ];
    return JSON.stringify([region, typeName, operation, identifier, ...generation, account.scope]);
  }

  /** The loader through the shared cache, when there is one. */
  #shared(
    typeName: string,
    { account, region }: Target,
    field: string,
    load: Loader<Cached>,
    acceptedAgeMs: number | undefined,
  ): Loader<Cached> {
    const shared = this.#options.sharedCache;
    if (!shared) return load;
    const call = `${account.scope}\u0000${field}`;
    return (signal) => shared.get({ typeName, region, field: call }, load, signal, acceptedAgeMs);
  }

  /** GetResource through the cache; undefined when the resource does not exist. */
  async #get(
    table: ResourceTable,
    target: Target,
    identifier: string,
    signal: AbortSignal,
    context: ReadContext = {},
  ): Promise<Description | undefined> {
    const typeName = table.resource.typeName;
    const { region } = target;
    const info: CallInfo = {
      operation: 'GetResource',
      region,
      account: { name: target.account.name },
      typeName,
      identifier,
      tally: context.calls,
    };
    const key = this.#key(target, typeName, 'GetResource', identifier);
    const traced = startRead(context.trace, { operation: 'GetResource', typeName, region }, () =>
      this.#cache.has(key, context.acceptedAgeMs),
    );
    const load = async (shared: AbortSignal): Promise<Got> => {
      traced.sent();
      const out = await this.call(info, shared, (client) =>
        client.send(
          abortable(new GetResourceCommand({ TypeName: typeName, Identifier: identifier }), shared),
        ),
      );
      const d = out.ResourceDescription;
      return { description: { Identifier: d?.Identifier ?? identifier, Properties: d?.Properties } };
    };
    try {
      const got = (await this.#cache.get(
        key,
        this.#shared(typeName, target, `GetResource\u0000${identifier}`, load, context.acceptedAgeMs),
        signal,
        context,
      )) as Got;
      traced.end({ found: true });
      return got.description;
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      // Not cached (only successes are), so a resource created a moment later is seen at once.
      if (isResourceNotFound(err)) {
        traced.end({ found: false });
        return undefined;
      }
      throw pgErrorFromAws(err, { operation: 'GetResource', table, region, identifier });
    }
  }

  /**
   * ListResources over all pages, through the cache; `model` is the ResourceModel a list handler needs. With
   * `rowOf`, when this read's own calls fetched the list (not the cache, nor another read's call it joined),
   * `rows` are the listed resources' rows (those rowOf gives), in order, built as each page came.
   */
  async #list(
    table: ResourceTable,
    target: Target,
    model: ListModel | undefined,
    signal: AbortSignal,
    context: ReadContext = {},
    rowOf?: (d: Description) => Row | undefined,
  ): Promise<{ descriptions: Description[]; rows?: Row[] }> {
    const typeName = table.resource.typeName;
    const { region } = target;
    const resourceModel = model === undefined ? undefined : JSON.stringify(model);
    const key = this.#key(target, typeName, 'ListResources', resourceModel);
    const traced = startRead(context.trace, { operation: 'ListResources', typeName, region }, () =>
      this.#cache.has(key, context.acceptedAgeMs),
    );
    let pages = 0;
    let own: { listed: Listed; rows: Row[] } | undefined;
    const load = async (shared: AbortSignal) => {
      traced.sent();
      // A load run again (its flight was interrupted) builds its rows afresh.
      const rows: Row[] = [];
      const onRows =
        rowOf &&
        ((page: Description[]) => {
          for (const d of page) {
            const row = rowOf(d);
            if (row) rows.push(row);
          }
        });
      const listed = await this.#listPages(
        typeName,
        target,
        resourceModel,
        shared,
        () => pages++,
        context.calls,
        onRows,
      );
      own = { listed, rows };
      return listed;
    };
    try {
      const listed = (await this.#cache.get(
        key,
        this.#shared(
          typeName,
          target,
          `ListResources\u0000${resourceModel ?? ''}`,
          load,
          context.acceptedAgeMs,
        ),
        signal,
        context,
      )) as Listed;
      traced.end(pages > 0 ? { pages } : {});
      return own?.listed === listed
        ? { descriptions: listed.descriptions, rows: own.rows }
        : { descriptions: listed.descriptions };
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      throw pgErrorFromAws(err, { operation: 'ListResources', table, region });
    }
  }

  async #listPages(
    typeName: string,
    { account, region }: Target,
    resourceModel: string | undefined,
    signal: AbortSignal,
    onPage: () => void,
    tally: CallTally | undefined,
    onRows?: (page: Description[]) => void,
  ): Promise<Listed> {
    const descriptions: Description[] = [];
    const seen = new Set<string>();
    const info = { operation: 'ListResources', region, account: { name: account.name }, typeName, tally };
    const send = (token: string | undefined) =>
      this.call(info, signal, (client) =>
        client.send(
          abortable(
            new ListResourcesCommand({
              TypeName: typeName,
              NextToken: token,
              MaxResults: 100,
              ...(resourceModel !== undefined ? { ResourceModel: resourceModel } : {}),
            }),
            signal,
          ),
        ),
      );
    let next = send(undefined);
    for (;;) {
      const out = await next;
      onPage();
      const token = out.NextToken || undefined;
      if (token !== undefined) {
        // A service that hands back a token it already gave would otherwise page forever.
        if (seen.has(token))
          throw new Error(`ListResources returned the same NextToken twice for ${typeName}`);
        seen.add(token);
        // The next page is asked for before this one is taken apart: its rows are built while that one is in
        // flight. Should building fail, the call in flight is left to end on its own (it is not awaited).
        next = send(token);
        next.catch(() => {});
      }
      const page = (out.ResourceDescriptions ?? []).map(describe);
      for (const d of page) descriptions.push(d);
      onRows?.(page);
      if (token === undefined) return { descriptions };
    }
  }

  #regions(pinned: string[] | undefined, own = this.#accounts[0]!.regions): string[] {
    const regions = unique(pinned ?? own);
    if (pinned === undefined && regions.length === 0) {
      throw new PgError(
        SqlState.invalid_parameter_value,
        "no AWS region to query: add WHERE region = '...' to the query, or start the server with --region or AWS_REGION set",
        { hint: "For example: WHERE region = 'us-east-1', or region IN ('us-east-1', 'eu-west-1')." },
      );
    }
    for (const region of regions) {
      if (!regionPattern.test(region) || region.length > 50) {
        throw new PgError(SqlState.invalid_parameter_value, `invalid AWS region "${region.slice(0, 60)}"`, {
          hint: "A region looks like 'us-east-1'.",
        });
      }
    }
    return regions;
  }

  #fanOutNotice(table: ResourceTable, region: string, count: number, limit?: number): string {
    const noun = resourceNoun(table.resource.typeName, count);
    if (limit !== undefined)
      return `listed ${count} ${noun} in ${region} (no data__identifier in WHERE); reading the first ${limit} for the LIMIT.`;
    const collection = table.resource.tables.find((t) => t.kind === 'collection');
    const cheaper = collection ? `, or query ${collection.schema}.${collection.name} for the list alone` : '';
    return (
      `listed ${count} ${noun} in ${region} (no data__identifier in WHERE); each row costs one GetResource call. ` +
      `Add WHERE data__identifier = '...' to read only some${cheaper}.`
    );
  }
}

/** The ResourceModel of one ListResources call: a list handler's required parent properties and their values. */
type ListModel = Record<string, string>;

function validIdentifier(id: string): boolean {
  return id.length >= 1 && id.length <= 1024;
}

function cachedNote(cached: number, all: number): string {
  if (cached === 0) return '';
  return cached === all ? ' (cached)' : ` (${cached} cached)`;
}

/** More ResourceModels than this from the pinned parents' product is refused rather than sent. */
const maxListModels = 100;

/**
 * The ResourceModels to list a type with: one per combination of its required parents' pinned values (catalog
 * `listRequires`), `[undefined]` for a type that needs none. A parent not pinned is refused before any call.
 */
function listModels(table: ResourceTable, keys: FetchKeys): (ListModel | undefined)[] {
  const required = table.resource.definition.listRequires ?? [];
  if (required.length === 0) return [undefined];
  let models: ListModel[] = [{}];
  const columns: string[] = [];
  for (const name of required) {
    const column = table.resource.propertyByName(name)?.column ?? name;
    columns.push(column);
    const values = keys[column];
    if (!Array.isArray(values)) {
      const def = table.resource.definition;
      throw new PgError(
        SqlState.invalid_parameter_value,
        `${table.schema}.${table.name} needs ${column} in WHERE: Cloud Control lists ${def.typeName} ` +
          `resources of one ${name} at a time`,
        {
          hint:
            `Add WHERE ${column} = '...' (or ${column} IN ('...', '...')) to the query` +
            (table.kind === 'resource' ? ', or pin data__identifier.' : '.'),
        },
      );
    }
    models = models.flatMap((m) => unique(values).map((v) => ({ ...m, [name]: v })));
  }
  if (models.length > maxListModels) {
    throw new PgError(
      SqlState.program_limit_exceeded,
      `${table.schema}.${table.name}: ${models.length} combinations of ${columns.join(', ')} pinned; at most ${maxListModels} lists per region`,
      { hint: 'Pin fewer values.' },
    );
  }
  return models;
}

/** A listed resource with the parent it was listed under: the list handler's ResourceModel holds for it. */
function withModel(d: Description, model: ListModel | undefined): Description {
  if (model === undefined) return d;
  let parsed: unknown;
  try {
    parsed = d.Properties ? JSON.parse(d.Properties) : {};
  } catch {
    return d; // rowFromDescription reports it
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return d;
  return { ...d, Properties: JSON.stringify({ ...model, ...(parsed as Record<string, unknown>) }) };
}

/**
 * Whether the statement reads a column a list does not give: a list is sure to hold only region, the identifier
 * and its part properties (and the parents it was listed under); write-only columns are NULL whatever is read.
 */
export function needsGet(table: ResourceTable, columns: NeededColumns): boolean {
  const def = table.resource.definition;
  if (def.listsWholeModel) return false;
  const parents = def.listRequires ?? [];
  const listed = (name: string): boolean => {
    const column = table.columns.find((c) => c.name === name);
    if (!column) return false;
    const p = column.property;
    if (!p) return true;
    return p.flags.identifier || p.flags.writeOnly || parents.includes(p.name);
  };
  const names = columns === 'all' ? table.columns.map((c) => c.name) : [...columns];
  return names.some((name) => !listed(name));
}

/** More identifiers than this from the parts' product is no longer a narrowing worth its GetResource calls. */
const maxIdentifiersFromParts = 1000;

/**
 * A compound primary identifier is its parts' values joined by `|`, as Cloud Control writes it: when WHERE pins
 * every part column, the product of their values is the list of identifiers to get.
 */
function identifiersFromParts(table: ResourceTable, keys: FetchKeys): string[] | undefined {
  const parts = table.resource.definition.primaryIdentifier;
  if (parts.length < 2) return undefined;
  let ids: string[] = [''];
  for (const [i, name] of parts.entries()) {
    const column = table.resource.propertyByName(name)?.column;
    const values = column === undefined ? undefined : keys[column];
    if (!Array.isArray(values)) return undefined;
    ids = ids.flatMap((id) => values.map((v) => (i === 0 ? v : `${id}|${v}`)));
    if (ids.length > maxIdentifiersFromParts) return undefined;
  }
  return ids;
}

/**
 * A type without a list handler cannot be listed, and one without a read handler cannot be read: such a SELECT
 * is refused before any call, saying what would work.
 */
function requireHandlers(table: ResourceTable, identified: boolean): void {
  const def = table.resource.definition;
  const name = `${table.schema}.${table.name}`;
  const resource = table.resource.tables.find((t) => t.kind === 'resource')!;
  const parts = def.primaryIdentifier;
  const pinHint =
    `Add WHERE data__identifier = '<${parts.join('>|<')}>'` +
    (parts.length > 1
      ? `, or pin each of ${parts.map((p) => table.resource.propertyByName(p)?.column ?? p).join(', ')} with =`
      : '') +
    ` on ${resource.schema}.${resource.name}.`;
  if (table.kind === 'collection' && def.permissions.list === undefined) {
    throw new PgError(
      SqlState.feature_not_supported,
      `SELECT is not supported on ${name}: ${def.typeName} has no list handler, so Cloud Control cannot list its resources`,
      def.permissions.read === undefined ? {} : { hint: pinHint },
    );
  }
  if (table.kind !== 'resource') return;
  if (def.permissions.read === undefined) {
    throw new PgError(
      SqlState.feature_not_supported,
      `SELECT is not supported on ${name}: ${def.typeName} has no read handler, so Cloud Control cannot read its resources`,
    );
  }
  if (!identified && def.permissions.list === undefined) {
    throw new PgError(
      SqlState.feature_not_supported,
      `SELECT from ${name} needs the resources' identifiers: ${def.typeName} has no list handler, so Cloud Control cannot list its resources`,
      { hint: pinHint },
    );
  }
}

function describe(d: ResourceDescription): Description {
  return { Identifier: d.Identifier, Properties: d.Properties };
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

function sizeOf(value: Cached): number {
  const descriptions = 'descriptions' in value ? value.descriptions : [value.description];
  return descriptions.reduce(
    (sum, d) => sum + 64 + (d.Identifier?.length ?? 0) + (d.Properties?.length ?? 0),
    64,
  );
}

/** What the debug log says of a call: what it is about, not the statement's tally. */
function logged({ tally: _tally, ...about }: CallInfo): Omit<CallInfo, 'tally'> {
  return about;
}

function countCall(info: CallInfo, outcome: string, started: number): void {
  const seconds = (performance.now() - started) / 1000;
  const { operation, region, typeName } = info;
  metrics.later(() => {
    metrics.cloudControlCalls.inc({ operation, region, type: typeName ?? '', outcome });
    metrics.cloudControlSeconds.observe({ operation, outcome }, seconds);
  });
}

/**
 * The calls of one read, at most `concurrency` at once: the first failure stops the rest (their results could not
 * be returned anyway). `scope` aborts with the caller's signal or that failure; run each call as
 * `fanOut(() => guard(call))`. `single`: the read makes one call (or one list's pages in turn), which runs
 * under the caller's signal as it is.
 */
function failFast(
  concurrency: number,
  signal: AbortSignal,
  single = false,
): {
  scope: AbortSignal;
  fanOut: <T>(work: () => Promise<T>) => Promise<T>;
  guard: <T>(work: () => Promise<T>) => Promise<T>;
} {
  if (single) {
    const direct = <T>(work: () => Promise<T>) => work();
    return { scope: signal, fanOut: direct, guard: direct };
  }
  const failed = new AbortController();
  const scope = AbortSignal.any([signal, failed.signal]);
  const fanOut = pLimit({ concurrency, rejectOnClear: true });
  const guard = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (err) {
      failed.abort(err);
      fanOut.clearQueue();
      throw err;
    }
  };
  return { scope, fanOut, guard };
}

/** `"prod" (123456789012)`, or `"prod"` while its id is not known. */
function accountLabel(account: Account): string {
  return account.knownId === undefined ? `"${account.name}"` : `"${account.name}" (${account.knownId})`;
}

/** The WARNING of a partial read: what is missing and why. */
function missingWarning({ account, region }: Target, err: unknown): string {
  const why = err instanceof Error ? err.message : String(err);
  return `no rows from account ${accountLabel(account)} in ${region}: ${why}`;
}
