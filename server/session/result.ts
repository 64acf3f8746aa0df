import { PgError } from '../errors.js';
import type { ErrorFields } from '../wire/messages.js';
import { parseCommandComplete, parseErrorFields, splitBackendMessages } from '../wire/backend-parser.js';

/**
 * A statement's outcome, materialized: what the client is sent for it. DataRow and RowDescription frames
 * stay as the engine encoded them (text or binary), so values are never decoded and re-encoded.
 */
export interface Result {
  /** RowDescription frame, or null when the statement returns no rows (Describe answers NoData). */
  description: Buffer | null;
  /** DataRow frames; Execute with a row limit hands them out in pieces. */
  rows: Buffer[];
  /** COPY TO STDOUT: CopyOutResponse, CopyData..., CopyDone, sent before the tag. */
  copy: Buffer[];
  /** CommandComplete tag, e.g. `SELECT 3`; null for an empty query. */
  tag: string | null;
  /** NoticeResponse and ParameterStatus frames, sent before the result. */
  messages: Buffer[];
}

export function emptyResult(tag: string | null): Result {
  return { description: null, rows: [], copy: [], tag, messages: [] };
}

/** An error the engine reported: all its fields go to the client as they are. */
export class EngineError extends PgError {
  constructor(readonly errorFields: ErrorFields) {
    super(errorFields.code, errorFields.message, {
      detail: errorFields.detail,
      hint: errorFields.hint,
      position: errorFields.position,
    });
  }
}

/** The engine's reply to one unit, split at each ReadyForQuery: one reply per Query or Sync sent. */
export interface EngineReply {
  result: Result;
  /** ParameterDescription payload of a Describe of a statement. */
  parameterDescription?: Buffer;
  error?: EngineError;
}

export function engineReplies(bytes: Buffer): EngineReply[] {
  const replies: EngineReply[] = [];
  let current: EngineReply = { result: emptyResult(null) };
  for (const frame of splitBackendMessages(bytes)) {
    const r = current.result;
    switch (frame.code) {
      case 'T':
        r.description = frame.raw;
        break;
      case 'D':
        r.rows.push(frame.raw);
        break;
      case 'C':
        r.tag = parseCommandComplete(frame.payload);
        break;
      case 'H':
      case 'd':
      case 'c':
        r.copy.push(frame.raw);
        break;
      case 'N':
      case 'S':
        r.messages.push(frame.raw);
        break;
      case 't':
        current.parameterDescription = frame.raw;
        break;
      case 'E':
        current.error ??= new EngineError(parseErrorFields(frame.payload));
        break;
      case 'Z':
        replies.push(current);
        current = { result: emptyResult(null) };
        break;
      // ParseComplete, BindComplete, NoData, CloseComplete, EmptyQueryResponse: the session answers these itself.
    }
  }
  return replies;
}

/** The single reply of a unit that ran one Query or one Parse..Sync sequence; throws its error. */
export function singleResult(bytes: Buffer): EngineReply {
  const reply = engineReplies(bytes)[0];
  if (!reply) throw new PgError('XX000', 'the engine returned no reply');
  if (reply.error) throw reply.error;
  return reply;
}

/** The values of a text DataRow. */
export function dataRowTexts(frame: Buffer): (string | null)[] {
  const out: (string | null)[] = [];
  let at = 7;
  for (let i = frame.readInt16BE(5); i > 0; i--) {
    const length = frame.readInt32BE(at);
    at += 4;
    out.push(length < 0 ? null : frame.subarray(at, at + length).toString('utf8'));
    if (length > 0) at += length;
  }
  return out;
}
