import { isAscii, isUtf8 } from 'node:buffer';
import { PgError, SqlState } from '../errors.js';

/**
 * Client encodings (PostgreSQL's client_encoding). The engine always speaks UTF8; the connection converts the
 * client's text to UTF8 on the way in and the server's text to the client encoding on the way out, as
 * PostgreSQL's pg_client_to_server / pg_server_to_client do. The conversion tables come from Node's ICU
 * (TextDecoder, WHATWG encodings) and are inverted once per encoding, on first use, so there is no dependency.
 */
export interface ClientCodec {
  /** PostgreSQL's name, as ParameterStatus reports it: `LATIN1`, `WIN1252`, `SJIS`... */
  readonly name: string;
  /** UTF8 and SQL_ASCII: no conversion (client input is still checked to be valid UTF-8). */
  readonly passthrough: boolean;
  /** Client bytes to text. Throws 22021 (invalid byte sequence) or 22P05 (no equivalent in UTF8). */
  decode(bytes: Buffer): string;
  /** Client bytes to UTF-8 bytes; the same Buffer when it needs no change. */
  toUtf8(bytes: Buffer): Buffer;
  /** UTF-8 bytes to client bytes; throws 22P05 for a character the client encoding lacks. */
  fromUtf8(bytes: Buffer): Buffer;
  /** As fromUtf8, but an unconvertible character becomes '?' (error fields, as elog.c does when in trouble). */
  fromUtf8Lossy(bytes: Buffer): Buffer;
  /** A decoder for a stream cut at arbitrary points (COPY FROM STDIN data): a char split across chunks is kept. */
  streamToUtf8(): (chunk: Buffer, last: boolean) => Buffer;
}

/** PostgreSQL's clean_encoding_name: lower case, alphanumerics only. */
function clean(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

interface SingleByteSpec {
  kind: 'single';
  /** The WHATWG label, or null for LATIN1 (bytes are code points). */
  label: string | null;
  /** ISO 8859: 0x80-0x9F are the C1 controls (WHATWG maps iso-8859-9 to windows-1254, which fills them). */
  c1?: boolean;
  /** Windows code pages: a byte WHATWG maps to its own C1 code point is undefined in PostgreSQL's tables. */
  windows?: boolean;
  /** Code points of 0x80.. that replace the decoder's (0 = undefined). */
  high?: number[];
}

interface MultiByteSpec {
  kind: 'multi';
  label: string;
  /** Bytes >= 0x80 that stand alone (SJIS half-width katakana, GBK's euro). */
  single(b: number): boolean;
  /** The length of the character a lead byte starts (2 or 3), or 0 when it cannot start one. */
  length(b: number, next: number | undefined): number;
  /** Whether a byte may follow the lead. */
  trail(b: number): boolean;
}

type Spec = SingleByteSpec | MultiByteSpec;

const passthroughNames = new Set(['UTF8', 'SQL_ASCII']);

const single = (label: string | null, extra: Partial<SingleByteSpec> = {}): SingleByteSpec => ({
  kind: 'single',
  label,
  ...extra,
});
const iso = (label: string) => single(label, { c1: true });
const win = (label: string) => single(label, { windows: true });

const dbcs = (label: string, trail: (b: number) => boolean, lead = (b: number) => b >= 0x81 && b <= 0xfe) =>
  ({
    kind: 'multi',
    label,
    single: () => false,
    length: (b: number) => (lead(b) ? 2 : 0),
    trail,
  }) satisfies MultiByteSpec;

const specs: Record<string, Spec> = {
  LATIN1: single(null),
  LATIN2: iso('iso-8859-2'),
  LATIN3: iso('iso-8859-3'),
  LATIN4: iso('iso-8859-4'),
  LATIN5: iso('iso-8859-9'),
  LATIN6: iso('iso-8859-10'),
  LATIN7: iso('iso-8859-13'),
  LATIN8: iso('iso-8859-14'),
  LATIN9: iso('iso-8859-15'),
  ISO_8859_5: iso('iso-8859-5'),
  ISO_8859_6: iso('iso-8859-6'),
  ISO_8859_7: iso('iso-8859-7'),
  ISO_8859_8: iso('iso-8859-8'),
  WIN866: single('ibm866'),
  WIN874: win('windows-874'),
  WIN1250: win('windows-1250'),
  WIN1251: win('windows-1251'),
  // Node 20's TextDecoder('windows-1252') decodes as ISO 8859-1, so 0x80-0x9F are given here (CP1252.TXT).
  WIN1252: single(null, {
    windows: true,
    high: [
      0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0,
      0x017d, 0, 0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a,
      0x0153, 0, 0x017e, 0x0178,
    ],
  }),
  WIN1253: win('windows-1253'),
  WIN1254: win('windows-1254'),
  WIN1255: win('windows-1255'),
  WIN1256: win('windows-1256'),
  WIN1257: win('windows-1257'),
  WIN1258: win('windows-1258'),
  KOI8R: single('koi8-r'),
  KOI8U: single('koi8-u'),
  SJIS: {
    kind: 'multi',
    label: 'shift_jis',
    single: (b) => b >= 0xa1 && b <= 0xdf,
    length: (b) => ((b >= 0x81 && b <= 0x9f) || (b >= 0xe0 && b <= 0xfc) ? 2 : 0),
    trail: (b) => b >= 0x40 && b <= 0xfc && b !== 0x7f,
  },
  EUC_JP: {
    kind: 'multi',
    label: 'euc-jp',
    single: () => false,
    length: (b) => (b === 0x8e || (b >= 0xa1 && b <= 0xfe) ? 2 : b === 0x8f ? 3 : 0),
    trail: (b) => b >= 0xa1 && b <= 0xfe,
  },
  EUC_KR: dbcs(
    'euc-kr',
    (b) => b >= 0xa1 && b <= 0xfe,
    (b) => b >= 0xa1 && b <= 0xfe,
  ),
  EUC_CN: dbcs(
    'gbk',
    (b) => b >= 0xa1 && b <= 0xfe,
    (b) => b >= 0xa1 && b <= 0xf7,
  ),
  UHC: dbcs('euc-kr', (b) => b >= 0x41 && b <= 0xfe && b !== 0x7f),
  BIG5: dbcs('big5', (b) => (b >= 0x40 && b <= 0x7e) || (b >= 0xa1 && b <= 0xfe)),
  GBK: { ...dbcs('gbk', (b) => b >= 0x40 && b <= 0xfe && b !== 0x7f), single: (b) => b === 0x80 },
};

/** encnames.c's aliases, cleaned, to our names. */
const aliases: Record<string, string> = {
  unicode: 'UTF8',
  utf8: 'UTF8',
  sqlascii: 'SQL_ASCII',
  iso88591: 'LATIN1',
  iso88592: 'LATIN2',
  iso88593: 'LATIN3',
  iso88594: 'LATIN4',
  iso88599: 'LATIN5',
  iso885910: 'LATIN6',
  iso885913: 'LATIN7',
  iso885914: 'LATIN8',
  iso885915: 'LATIN9',
  iso88595: 'ISO_8859_5',
  iso88596: 'ISO_8859_6',
  iso88597: 'ISO_8859_7',
  iso88598: 'ISO_8859_8',
  koi8: 'KOI8R',
  win: 'WIN1251',
  alt: 'WIN866',
  tcvn: 'WIN1258',
  tcvn5712: 'WIN1258',
  vscii: 'WIN1258',
  abc: 'WIN1258',
  mskanji: 'SJIS',
  shiftjis: 'SJIS',
  win932: 'SJIS',
  windows932: 'SJIS',
  win936: 'GBK',
  windows936: 'GBK',
  win949: 'UHC',
  windows949: 'UHC',
  win950: 'BIG5',
  windows950: 'BIG5',
};
for (const name of [...Object.keys(specs), ...passthroughNames]) aliases[clean(name)] = name;
for (const n of ['866', '874', '1250', '1251', '1252', '1253', '1254', '1255', '1256', '1257', '1258'])
  aliases[`windows${n}`] = `WIN${n}`;

/** Encodings PostgreSQL knows that the bridge cannot convert. */
const unsupported = new Set([
  // Node's ICU has no ISO 8859-16.
  'latin10',
  'iso885916',
  'euctw',
  'euccn2004',
  'eucjis2004',
  'shiftjis2004',
  'gb18030',
  'johab',
  'muleinternal',
  'mule',
]);

/**
 * The canonical name of a client_encoding value, or a 22023 PgError to throw. `severity` FATAL at startup.
 */
export function clientEncodingName(value: string, severity: 'ERROR' | 'FATAL' = 'ERROR'): string {
  const key = clean(value);
  const name = aliases[key];
  if (name) return name;
  throw new PgError(
    SqlState.invalid_parameter_value,
    `invalid value for parameter "client_encoding": "${value}"`,
    {
      severity,
      detail: unsupported.has(key)
        ? `Conversion between ${value.toUpperCase()} and UTF8 is not supported.`
        : undefined,
      hint: `Use UTF8, SQL_ASCII, LATIN1..LATIN9, WIN866, WIN874, WIN1250..WIN1258, KOI8R, KOI8U, ISO_8859_5..ISO_8859_8, SJIS, EUC_JP, EUC_KR, EUC_CN, GBK, BIG5 or UHC.`,
    },
  );
}

const codecs = new Map<string, ClientCodec>();

/** The codec of a canonical name (from clientEncodingName); UTF8 for anything unknown. */
export function clientCodec(name: string | undefined): ClientCodec {
  const key = name ?? 'UTF8';
  let codec = codecs.get(key);
  if (!codec) {
    const spec = specs[key];
    codec = spec ? new TableCodec(key, spec) : new Utf8Codec(passthroughNames.has(key) ? key : 'UTF8');
    codecs.set(key, codec);
  }
  return codec;
}

function hexBytes(bytes: ArrayLike<number>): string {
  return Array.from(bytes, (b) => `0x${b.toString(16).padStart(2, '0')}`).join(' ');
}

function invalidSequence(encoding: string, bytes: ArrayLike<number>): PgError {
  return new PgError('22021', `invalid byte sequence for encoding "${encoding}": ${hexBytes(bytes)}`, {
    hint: `The client says its text is ${encoding}: set client_encoding to the encoding it really sends.`,
  });
}

function untranslatable(from: string, to: string, bytes: ArrayLike<number>): PgError {
  return new PgError(
    '22P05',
    `character with byte sequence ${hexBytes(bytes)} in encoding "${from}" has no equivalent in encoding "${to}"`,
    {
      hint:
        to === 'UTF8'
          ? undefined
          : `Set client_encoding to UTF8 to receive every character, or leave the character out (e.g. with translate()).`,
    },
  );
}

/** The length of the UTF-8 sequence a lead byte starts, 0 if it cannot start one. */
function utf8Length(b: number): number {
  if (b < 0x80) return 1;
  if (b >= 0xc2 && b <= 0xdf) return 2;
  if (b >= 0xe0 && b <= 0xef) return 3;
  if (b >= 0xf0 && b <= 0xf4) return 4;
  return 0;
}

/** The bytes of the first invalid UTF-8 character in `bytes` (which isUtf8 rejected), as pg_verifymbstr shows. */
function firstInvalidUtf8(bytes: Buffer): number[] {
  for (let i = 0; i < bytes.length;) {
    const n = utf8Length(bytes[i]!);
    const seq = bytes.subarray(i, i + Math.max(n, 1));
    if (n === 0 || seq.length < n || !isUtf8(seq)) return [...seq];
    i += n;
  }
  return [...bytes.subarray(0, 1)];
}

function checkUtf8(bytes: Buffer): void {
  if (!isUtf8(bytes)) throw invalidSequence('UTF8', firstInvalidUtf8(bytes));
}

class Utf8Codec implements ClientCodec {
  readonly passthrough = true;
  constructor(readonly name: string) {}
  decode(bytes: Buffer): string {
    if (!isAscii(bytes)) checkUtf8(bytes);
    return bytes.toString('utf8');
  }
  toUtf8(bytes: Buffer): Buffer {
    if (!isAscii(bytes)) checkUtf8(bytes);
    return bytes;
  }
  fromUtf8(bytes: Buffer): Buffer {
    return bytes;
  }
  fromUtf8Lossy(bytes: Buffer): Buffer {
    return bytes;
  }
  streamToUtf8(): (chunk: Buffer, last: boolean) => Buffer {
    // COPY data goes to the engine as it is; the engine checks it is UTF-8 as it parses it.
    return (chunk) => chunk;
  }
}

const UNDEFINED = -1;

/** A table-driven codec: decode by lookup, encode by the inverted table. */
class TableCodec implements ClientCodec {
  readonly passthrough = false;
  private built = false;
  /** Byte (or byte sequence packed big-endian) -> code point. */
  private readonly toCode = new Map<number, number>();
  /** Code point -> packed byte sequence (the first sequence that decodes to it). */
  private readonly fromCode = new Map<number, number>();
  private readonly singleTable = new Int32Array(256).fill(UNDEFINED);

  constructor(
    readonly name: string,
    private readonly spec: Spec,
  ) {}

  private build(): void {
    if (this.built) return;
    this.built = true;
    const spec = this.spec;
    for (let b = 0; b < 0x80; b++) this.singleTable[b] = b;
    if (spec.kind === 'single') {
      const decoder = spec.label ? new TextDecoder(spec.label) : null;
      for (let b = 0x80; b < 0x100; b++) {
        let cp: number;
        const high = spec.high?.[b - 0x80];
        if (high !== undefined) cp = high === 0 ? UNDEFINED : high;
        else if (!decoder || (spec.c1 && b < 0xa0)) cp = b;
        else {
          const s = decoder.decode(Uint8Array.of(b));
          cp = s === '\ufffd' ? UNDEFINED : s.codePointAt(0)!;
          if (spec.windows && b < 0xa0 && cp === b) cp = UNDEFINED;
        }
        this.singleTable[b] = cp;
        if (cp !== UNDEFINED && !this.fromCode.has(cp)) this.fromCode.set(cp, b);
      }
      return;
    }
    const decoder = new TextDecoder(spec.label);
    const one = (bytes: number[]): number => {
      const s = decoder.decode(Uint8Array.from(bytes));
      const cp = s.codePointAt(0);
      if (cp === undefined || cp === 0xfffd || s.length !== (cp > 0xffff ? 2 : 1)) return UNDEFINED;
      return cp;
    };
    const add = (bytes: number[]): void => {
      const cp = one(bytes);
      if (cp === UNDEFINED) return;
      const packed = bytes.reduce((acc, b) => acc * 256 + b, 0);
      this.toCode.set(packed, cp);
      if (!this.fromCode.has(cp)) this.fromCode.set(cp, packed);
    };
    for (let b = 0x80; b < 0x100; b++) {
      if (spec.single(b)) {
        const cp = one([b]);
        this.singleTable[b] = cp;
        if (cp !== UNDEFINED && !this.fromCode.has(cp)) this.fromCode.set(cp, b);
      }
    }
    for (let lead = 0x80; lead < 0x100; lead++) {
      if (spec.single(lead)) continue;
      for (let t = 0x40; t < 0x100; t++) {
        const n = spec.length(lead, t);
        if (n === 0) break;
        if (!spec.trail(t)) continue;
        if (n === 2) add([lead, t]);
        else for (let u = 0xa1; u < 0xff; u++) add([lead, t, u]);
      }
    }
  }

  decode(bytes: Buffer): string {
    if (isAscii(bytes)) return bytes.toString('latin1');
    const { text, rest } = this.decodeSome(bytes, true);
    void rest;
    return text;
  }

  toUtf8(bytes: Buffer): Buffer {
    if (isAscii(bytes)) return bytes;
    return Buffer.from(this.decode(bytes), 'utf8');
  }

  streamToUtf8(): (chunk: Buffer, last: boolean) => Buffer {
    let held = Buffer.alloc(0);
    return (chunk, last) => {
      const input = held.length ? Buffer.concat([held, chunk]) : chunk;
      if (isAscii(input)) {
        held = Buffer.alloc(0);
        return input;
      }
      const { text, rest } = this.decodeSome(input, last);
      held = Buffer.from(rest);
      return Buffer.from(text, 'utf8');
    };
  }

  /** Decodes whole characters; an incomplete one at the end is an error when `last`, else returned as rest. */
  private decodeSome(bytes: Buffer, last: boolean): { text: string; rest: Buffer } {
    this.build();
    const spec = this.spec;
    const out: number[] = [];
    let text = '';
    const flush = () => {
      text += String.fromCodePoint(...out);
      out.length = 0;
    };
    let i = 0;
    while (i < bytes.length) {
      const b = bytes[i]!;
      let cp = this.singleTable[b]!;
      if (cp !== UNDEFINED) {
        out.push(cp);
        i++;
      } else if (spec.kind === 'single') {
        throw untranslatable(this.name, 'UTF8', [b]);
      } else {
        const n = spec.single(b) ? 1 : spec.length(b, bytes[i + 1]);
        if (n <= 1) throw n === 1 ? untranslatable(this.name, 'UTF8', [b]) : invalidSequence(this.name, [b]);
        if (i + n > bytes.length) {
          if (!last) return { text: (flush(), text), rest: bytes.subarray(i) };
          throw invalidSequence(this.name, bytes.subarray(i));
        }
        const seq = bytes.subarray(i, i + n);
        for (let k = 1; k < n; k++) if (!spec.trail(seq[k]!)) throw invalidSequence(this.name, seq);
        const packed = seq.reduce((acc, x) => acc * 256 + x, 0);
        cp = this.toCode.get(packed) ?? UNDEFINED;
        if (cp === UNDEFINED) throw untranslatable(this.name, 'UTF8', seq);
        out.push(cp);
        i += n;
      }
      if (out.length >= 4096) flush();
    }
    flush();
    return { text, rest: Buffer.alloc(0) };
  }

  fromUtf8(bytes: Buffer): Buffer {
    return this.encode(bytes, false);
  }

  fromUtf8Lossy(bytes: Buffer): Buffer {
    return this.encode(bytes, true);
  }

  private encode(bytes: Buffer, lossy: boolean): Buffer {
    if (isAscii(bytes)) return bytes;
    this.build();
    const text = bytes.toString('utf8');
    const out = Buffer.allocUnsafe(text.length * 3);
    let o = 0;
    for (const ch of text) {
      const cp = ch.codePointAt(0)!;
      if (cp < 0x80) {
        out[o++] = cp;
        continue;
      }
      const packed = this.fromCode.get(cp);
      if (packed === undefined) {
        if (!lossy) throw untranslatable('UTF8', this.name, Buffer.from(ch, 'utf8'));
        out[o++] = 0x3f;
      } else if (packed < 0x100) out[o++] = packed;
      else if (packed < 0x10000) {
        out[o++] = packed >> 8;
        out[o++] = packed & 0xff;
      } else {
        out[o++] = packed >> 16;
        out[o++] = (packed >> 8) & 0xff;
        out[o++] = packed & 0xff;
      }
    }
    return Buffer.from(out.subarray(0, o));
  }
}
