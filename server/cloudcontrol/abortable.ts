import type { CloudControlClient, ServiceInputTypes, ServiceOutputTypes } from '@aws-sdk/client-cloudcontrol';
import type {
  DeserializeHandlerOutput,
  DeserializeMiddleware,
  FinalizeRequestMiddleware,
  HttpHandlerOptions,
  RequestHandler,
} from '@smithy/types';
import { untilAborted } from './cache.js';

/**
 * Cloud Control calls with an abort signal, on clients that keep their resolved middleware (`cacheMiddleware`).
 *
 * The SDK resolves a command's middleware stack again on every send that is given options (the abort signal is
 * one): about 0.1 ms of sorting and copying per call, a tenth of what the bridge adds to a point read. With
 * `cacheMiddleware` and no options the resolved handler is kept per command class, and shared by every call of
 * that class, so the signal cannot ride in its context: it is kept here by the command's input (the one object
 * every middleware's arguments carry) and handed to the HTTP handler by the innermost middleware.
 */

const signals = new WeakMap<object, AbortSignal>();

/** The command, its calls abortable by `signal`: send it without options (`client.send(abortable(cmd, signal))`). */
export function abortable<C extends { input: object }>(command: C, signal: AbortSignal | undefined): C {
  if (signal) signals.set(command.input, signal);
  return command;
}

/** The signal a call was sent with, by its middleware arguments' input. */
export function signalOf(input: unknown): AbortSignal | undefined {
  return typeof input === 'object' && input !== null ? signals.get(input) : undefined;
}

/**
 * The innermost step: a call sent with abortable() goes to the HTTP handler with its signal (an aborted call's
 * request is destroyed at once, and an attempt after the abort is not sent). Others go on as the SDK sends them.
 */
export function passAbortSignals(client: CloudControlClient): void {
  const middleware: DeserializeMiddleware<ServiceInputTypes, ServiceOutputTypes> = (next) => (args) => {
    const abortSignal = signalOf(args.input);
    if (!abortSignal) return next(args);
    // What the SDK's own last step does (requestHandler.handle), with the call's options.
    const handler = client.config.requestHandler as RequestHandler<unknown, unknown, HttpHandlerOptions>;
    return handler.handle(args.request, { abortSignal }) as Promise<
      DeserializeHandlerOutput<ServiceOutputTypes>
    >;
  };
  client.middlewareStack.add(middleware, { step: 'deserialize', priority: 'low', name: 'passAbortSignals' });
  // The SDK's retries wait between attempts, abortably only with the signal in their context: a call aborted then
  // ends at once here (its slot is free for others), and its next attempt is never sent (handle sees the abort).
  const retries: FinalizeRequestMiddleware<ServiceInputTypes, ServiceOutputTypes> =
    (next) => async (args) => {
      const signal = signalOf(args.input);
      if (!signal) return next(args);
      // Aborted already (a read of several accounts that one account failed): nothing is sent.
      signal.throwIfAborted();
      return untilAborted(next(args), signal);
    };
  client.middlewareStack.addRelativeTo(retries, {
    relation: 'before',
    toMiddleware: 'retryMiddleware',
    name: 'abortRetries',
  });
}
