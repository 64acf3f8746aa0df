import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { Logger } from 'pino';
import { EmulatedRegistry, errorResponse, QueryError, queryErrors } from './cloudformation.js';
import { listRegions } from './account.js';
import { ApiError, errors } from './errors.js';
import { RateLimiter, type Faults } from './faults.js';
import { isOperationName, targetPrefix, type OperationName } from './operations.js';
import {
  changeOrganization,
  listAccounts,
  organizationsTargetPrefix,
  type OrganizationOptions,
} from './organizations.js';
import type { EmulatedCloudControl } from './service.js';
import { signerOf } from './sigv4.js';
import { EmulatedSts } from './sts.js';

/** The admin endpoints tests use to set faults, reset state and look inside; never part of the AWS API. */
export interface AdminControls {
  faults(): Faults;
  setFaults(update: unknown): Faults;
  reset(): void;
  dump(): unknown;
}

const maxBodyBytes = 1024 * 1024;
const jsonContentType = 'application/x-amz-json-1.0';
const json11ContentType = 'application/x-amz-json-1.1';

/**
 * Serves the Cloud Control JSON 1.0 protocol on `POST /`, CloudFormation's registry reads (awsQuery: a
 * form-encoded POST without X-Amz-Target) on the same path, and the admin endpoints under `/__admin/`.
 */
export function createHttpServer(
  service: EmulatedCloudControl,
  admin: AdminControls,
  log: Logger,
  registry = new EmulatedRegistry(),
  sts = new EmulatedSts(),
  organization: OrganizationOptions = {},
): http.Server {
  const limiter = new RateLimiter();
  /**
   * Cloud Control requests served, by `Operation` and by `Operation TypeName`, and those answered
   * ThrottlingException under that name (GET /__admin/calls).
   */
  const calls = new Map<string, number>();
  return http.createServer((req, res) => {
    const started = Date.now();
    const requestId = randomUUID();
    readBody(req)
      .then(async (body) => {
        if (req.url?.startsWith('/__admin/'))
          return handleAdmin(req.method ?? 'GET', req.url, body, admin, res, calls, organization);
        if (isQueryRequest(req)) return serveQuery(req, body, res, requestId, started);
        if ((req.url ?? '').split('?')[0] === '/listRegions')
          return serveAccount(req, body, res, requestId, started);
        const target = String(req.headers['x-amz-target'] ?? '');
        if (target.startsWith(organizationsTargetPrefix))
          return serveOrganizations(
            req,
            target.slice(organizationsTargetPrefix.length),
            body,
            res,
            requestId,
            started,
          );
        const operation = target.startsWith(targetPrefix) ? target.slice(targetPrefix.length) : '';
        // Never the body in the log: DesiredState and PatchDocument carry credentials.
        return answerJson(res, requestId, started, operation, jsonContentType, () => {
          if (req.method !== 'POST' || (req.url ?? '/').split('?')[0] !== '/')
            throw errors.unknownOperation();
          const signer = signerOf(req.headers.authorization);
          if (!isOperationName(operation)) throw errors.unknownOperation();
          const caller = sts.identify(signer.accessKeyId);
          if (sts.denies(caller)) throw errors.accessDenied(caller.arn, `cloudformation:${operation}`);
          return serve(operation, signer.region, body, caller.account);
        });
      })
      .catch((e: unknown) => {
        log.error({ err: e, requestId }, 'request failed');
        if (!res.headersSent) res.writeHead(500, { 'x-amzn-RequestId': requestId });
        res.end();
      });
  });

  /** Account ListRegions (REST-JSON), for `regions: all`. */
  function serveAccount(
    req: http.IncomingMessage,
    body: string,
    res: http.ServerResponse,
    requestId: string,
    started: number,
  ): Promise<void> {
    return answerJson(res, requestId, started, 'ListRegions', 'application/json', () => {
      if (req.method !== 'POST') throw errors.unknownOperation();
      const caller = sts.identify(signerOf(req.headers.authorization).accessKeyId);
      if (sts.denies(caller)) throw errors.accessDenied(caller.arn, 'account:ListRegions');
      calls.set('ListRegions', (calls.get('ListRegions') ?? 0) + 1);
      return listRegions(parseInput(body));
    });
  }

  /** Organizations (awsJson1_1): ListAccounts, for the bridge's organization discovery. */
  function serveOrganizations(
    req: http.IncomingMessage,
    operation: string,
    body: string,
    res: http.ServerResponse,
    requestId: string,
    started: number,
  ): Promise<void> {
    return answerJson(res, requestId, started, operation, json11ContentType, () => {
      if (req.method !== 'POST' || operation !== 'ListAccounts') throw errors.unknownOperation();
      const caller = sts.identify(signerOf(req.headers.authorization).accessKeyId);
      calls.set(operation, (calls.get(operation) ?? 0) + 1);
      return listAccounts(organization, caller, sts.denies(caller), parseInput(body));
    });
  }

  /** A JSON answer: the payload `produce` gives, or the body of the ApiError it throws; one log line. */
  async function answerJson(
    res: http.ServerResponse,
    requestId: string,
    started: number,
    operation: string,
    contentType: string,
    produce: () => unknown,
  ): Promise<void> {
    let status = 200;
    let payload: unknown;
    try {
      payload = await produce();
    } catch (e) {
      const error = e instanceof ApiError ? e : internalFailure(e, log);
      status = error.status;
      payload = error.body();
    }
    res.writeHead(status, { 'Content-Type': contentType, 'x-amzn-RequestId': requestId });
    res.end(JSON.stringify(payload));
    log.info({ requestId, operation, status, ms: Date.now() - started }, 'request');
  }

  /** CloudFormation ListTypes / DescribeType, STS AssumeRole / GetCallerIdentity: an XML answer, or an <ErrorResponse>. */
  function serveQuery(
    req: http.IncomingMessage,
    body: string,
    res: http.ServerResponse,
    requestId: string,
    started: number,
  ): void {
    const params = new URLSearchParams(body);
    let status = 200;
    let xml: string;
    try {
      if (req.method !== 'POST' || (req.url ?? '/').split('?')[0] !== '/')
        throw queryErrors.invalidAction(params.get('Action') ?? '');
      const signer = signerOf(req.headers.authorization);
      if (!limiter.admit(admin.faults().throttleRps)) throw queryErrors.throttling();
      if (signer.service === 'sts') {
        const action = params.get('Action') ?? '';
        calls.set(action, (calls.get(action) ?? 0) + 1);
        xml = sts.handle(params, sts.identify(signer.accessKeyId));
      } else xml = registry.handle(params, signer.region);
    } catch (e) {
      const error =
        e instanceof QueryError
          ? e
          : e instanceof ApiError
            ? new QueryError(e.code, e.status, e.message)
            : (log.error({ err: e }, 'unexpected error'),
              new QueryError('InternalFailure', 500, 'An internal error occurred', 'Receiver'));
      status = error.status;
      xml = errorResponse(error, requestId);
    }
    res.writeHead(status, { 'Content-Type': 'text/xml', 'x-amzn-RequestId': requestId });
    res.end(xml);
    log.info({ requestId, operation: params.get('Action'), status, ms: Date.now() - started }, 'request');
  }

  async function serve(
    operation: OperationName,
    region: string,
    body: string,
    account: string,
  ): Promise<unknown> {
    const faults = admin.faults();
    if (!limiter.admit(faults.throttleRps)) {
      calls.set('ThrottlingException', (calls.get('ThrottlingException') ?? 0) + 1);
      throw errors.throttling();
    }
    const latency = faults.latencyMs[operation] ?? faults.latencyMs['*'] ?? 0;
    if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
    if (faults.internalErrorRate > 0 && Math.random() < faults.internalErrorRate)
      throw errors.serviceInternalError();
    const input = parseInput(body);
    for (const key of [operation, `${operation} ${String(input.TypeName ?? '')}`])
      calls.set(key, (calls.get(key) ?? 0) + 1);
    return service.handle(operation, input, region, account);
  }
}

/** awsQuery (CloudFormation): form-encoded, and no X-Amz-Target, which every JSON protocol request has. */
function isQueryRequest(req: http.IncomingMessage): boolean {
  const contentType = String(req.headers['content-type'] ?? '');
  return (
    req.headers['x-amz-target'] === undefined && contentType.startsWith('application/x-www-form-urlencoded')
  );
}

function parseInput(body: string): Record<string, unknown> {
  if (body.trim() === '') return {};
  let input: unknown;
  try {
    input = JSON.parse(body);
  } catch {
    throw errors.serialization('Request body is not valid JSON');
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw errors.serialization('Request body must be a JSON object');
  }
  return input as Record<string, unknown>;
}

function internalFailure(e: unknown, log: Logger): ApiError {
  log.error({ err: e }, 'unexpected error');
  return new ApiError('com.amazon.coral.service', 'InternalFailure', 500, 'An internal error occurred', true);
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        reject(new Error('request body too large'));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function handleAdmin(
  method: string,
  url: string,
  body: string,
  admin: AdminControls,
  res: http.ServerResponse,
  calls: Map<string, number>,
  organization: OrganizationOptions,
) {
  const send = (status: number, payload: unknown) => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(payload));
  };
  const route = `${method} ${url.split('?')[0]}`;
  try {
    switch (route) {
      case 'GET /__admin/faults':
        return send(200, admin.faults());
      case 'POST /__admin/faults':
        return send(200, admin.setFaults(body.trim() === '' ? {} : JSON.parse(body)));
      case 'GET /__admin/calls':
        return send(200, Object.fromEntries(calls));
      case 'DELETE /__admin/calls':
        calls.clear();
        return send(200, {});
      case 'POST /__admin/reset':
        calls.clear();
        admin.reset();
        return send(200, { reset: true });
      case 'GET /__admin/resources':
        return send(200, admin.dump());
      case 'GET /__admin/organization':
        return send(200, organization);
      case 'POST /__admin/organization':
        return send(200, changeOrganization(organization, JSON.parse(body)));
      default:
        return send(404, { message: `no admin route ${route}` });
    }
  } catch (e) {
    return send(400, { message: e instanceof Error ? e.message : String(e) });
  }
}
