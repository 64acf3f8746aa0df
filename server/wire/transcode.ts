import { Reader } from './buffer-reader.js';
import { Writer } from './buffer-writer.js';
import type { ClientCodec } from './encoding.js';
import { BackendCode } from './messages.js';

/**
 * Converts the text of backend frames (UTF-8, as the engine and the session write them) to the client encoding,
 * as PostgreSQL's pq_sendstring / pq_sendtext do: RowDescription names, text-format DataRow values (and binary
 * text, varchar, bpchar, name, json and jsonb values, whose binary form is text), COPY TO STDOUT
 * text data, ErrorResponse / NoticeResponse fields, CommandComplete and ParameterStatus. A DataRow, a name or copy
 * data with a character the client encoding lacks throws 22P05; error and notice fields never throw (such a
 * character becomes '?', as elog.c sends them when an error is already being reported).
 */
export class OutputTranscoder {
  /** The description of the rows being sent (the last RowDescription, or rowFormats()). */
  private description: Buffer | null = null;
  /** How each of its columns converts: read from it when a row needs converting (not for a UTF8 client). */
  private conversions: Conversion[] | undefined = [];
  /** COPY TO STDOUT in text (or CSV) format: its CopyData is text. */
  private copyOutText = false;

  /** The formats of the DataRows that follow, from a RowDescription frame, when it is not sent (Execute). */
  rowFormats(description: Buffer | null): void {
    this.description = description;
    this.conversions = undefined;
  }

  frame(frame: Buffer, codec: ClientCodec): Buffer {
    const code = String.fromCharCode(frame[0]!);
    switch (code) {
      case BackendCode.RowDescription:
        // Not kept: the frame may be part of a large engine reply. A UTF8 client converts no row.
        this.description = null;
        this.conversions = codec.passthrough ? undefined : columnConversions(frame);
        return codec.passthrough ? frame : convertRowDescription(frame, codec);
      case BackendCode.CopyOutResponse:
        this.copyOutText = frame[5] === 0;
        return frame;
      default:
        if (codec.passthrough) return frame;
    }
    switch (code) {
      case BackendCode.DataRow:
        return this.convertDataRow(frame, codec);
      case BackendCode.CopyData:
        return this.copyOutText ? withBody(frame, codec.fromUtf8(frame.subarray(5))) : frame;
      case BackendCode.CommandComplete:
        return withBody(frame, codec.fromUtf8Lossy(frame.subarray(5)));
      case BackendCode.ErrorResponse:
      case BackendCode.NoticeResponse:
        return convertFields(frame, codec);
      case BackendCode.ParameterStatus: {
        const r = new Reader(frame, 5);
        const name = r.cstring();
        const value = r.cstring();
        return new Writer()
          .cstring(name)
          .bytes(cstring(codec.fromUtf8Lossy(Buffer.from(value, 'utf8'))))
          .message(BackendCode.ParameterStatus);
      }
      default:
        return frame;
    }
  }

  private convertDataRow(frame: Buffer, codec: ClientCodec): Buffer {
    const r = new Reader(frame, 5);
    const count = r.int16();
    const values: (Buffer | null)[] = [];
    const conversions = (this.conversions ??= this.description ? columnConversions(this.description) : []);
    let changed = false;
    for (let i = 0; i < count; i++) {
      const value = r.lengthPrefixed();
      const conversion = conversions[i] ?? 'text';
      if (value === null || conversion === 'none') {
        values.push(value);
        continue;
      }
      // Binary jsonb is a version byte and then text.
      const converted =
        conversion === 'jsonb' && value.length > 0
          ? Buffer.concat([value.subarray(0, 1), codec.fromUtf8(value.subarray(1))])
          : codec.fromUtf8(value);
      changed ||= converted !== value;
      values.push(converted);
    }
    if (!changed) return frame;
    const writer = new Writer().int16(count);
    for (const value of values) writer.lengthPrefixed(value);
    return writer.message(BackendCode.DataRow);
  }
}

/** 'text': the value is text; 'jsonb': binary jsonb (version byte + text); 'none': binary, not text. */
type Conversion = 'text' | 'jsonb' | 'none';

/** Types whose binary form is their text, as textsend / varcharsend / namesend / json_send write it. */
const BINARY_TEXT_TYPES = new Set([
  25 /* text */, 1043 /* varchar */, 1042 /* bpchar */, 19 /* name */, 114 /* json */, 705 /* unknown */,
]);
const JSONB = 3802;

function columnConversions(frame: Buffer): Conversion[] {
  const r = new Reader(frame, 5);
  const columns: Conversion[] = [];
  for (let n = r.int16(); n > 0; n--) {
    r.cstring();
    r.bytes(6);
    const typeOid = r.int32();
    r.bytes(6);
    const format = r.int16();
    columns.push(
      format === 0 || BINARY_TEXT_TYPES.has(typeOid) ? 'text' : typeOid === JSONB ? 'jsonb' : 'none',
    );
  }
  return columns;
}

function convertRowDescription(frame: Buffer, codec: ClientCodec): Buffer {
  const r = new Reader(frame, 5);
  const count = r.int16();
  const writer = new Writer().int16(count);
  for (let i = 0; i < count; i++) {
    const name = r.cstring();
    writer.bytes(cstring(codec.fromUtf8(Buffer.from(name, 'utf8')))).bytes(r.bytes(18));
  }
  return writer.message(BackendCode.RowDescription);
}

function convertFields(frame: Buffer, codec: ClientCodec): Buffer {
  const writer = new Writer();
  let i = 5;
  while (i < frame.length && frame[i] !== 0) {
    const nul = frame.indexOf(0, i + 1);
    if (nul < 0) return frame;
    writer.byte(frame[i]!).bytes(cstring(codec.fromUtf8Lossy(frame.subarray(i + 1, nul))));
    i = nul + 1;
  }
  writer.byte(0);
  return writer.message(String.fromCharCode(frame[0]!));
}

function withBody(frame: Buffer, body: Buffer): Buffer {
  if (body === frame.subarray(5) || body.equals(frame.subarray(5))) return frame;
  return new Writer(body.length + 5).bytes(body).message(String.fromCharCode(frame[0]!));
}

function cstring(bytes: Buffer): Buffer {
  return Buffer.concat([bytes, Buffer.of(0)]);
}
