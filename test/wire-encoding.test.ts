import { clientCodec, clientEncodingName } from '../server/wire/encoding.js';

/** A sample in each encoding's own script, with the bytes PostgreSQL's conversion gives for it. */
const samples: [encoding: string, text: string, hex: string][] = [
  ['LATIN1', 'café ñ ß', '636166e920f120df'],
  ['LATIN2', 'Łódź ő', 'a3f364bc20f5'],
  ['LATIN3', 'Ħ ġ', 'a120f5'],
  ['LATIN4', 'Ā ķ', 'c020f3'],
  ['LATIN5', 'İstanbul ğ', 'dd7374616e62756c20f0'],
  ['LATIN6', 'Ą ŋ', 'a120bf'],
  ['LATIN7', 'Ą ž', 'c020fe'],
  ['LATIN8', 'Ḃ ŵ', 'a120f0'],
  ['LATIN9', '€ œ', 'a420bd'],
  ['ISO_8859_5', 'Привет', 'bfe0d8d2d5e2'],
  ['ISO_8859_6', 'عربي', 'd9d1c8ea'],
  ['ISO_8859_7', 'Ελλάδα', 'c5ebebdce4e1'],
  ['ISO_8859_8', 'שלום', 'f9ece5ed'],
  ['WIN866', 'Привет', '8fe0a8a2a5e2'],
  ['WIN874', 'ไทย', 'e4b7c2'],
  ['WIN1250', 'Łódź', 'a3f3649f'],
  ['WIN1251', 'Привет', 'cff0e8e2e5f2'],
  ['WIN1252', 'café € „‰“', '636166e9208020848993'],
  ['WIN1253', 'Ελλάδα', 'c5ebebdce4e1'],
  ['WIN1254', 'İstanbul', 'dd7374616e62756c'],
  ['WIN1255', 'שלום', 'f9ece5ed'],
  ['WIN1256', 'عربي', 'dad1c8ed'],
  ['WIN1257', 'Ąž', 'c0fe'],
  // Precomposed Vietnamese letters such as ệ are not in CP1258 (PostgreSQL does not decompose them either).
  ['WIN1258', 'Đông', 'd0f46e67'],
  ['KOI8R', 'Привет', 'f0d2c9d7c5d4'],
  ['KOI8U', 'Їжак', 'b7d6c1cb'],
  ['SJIS', '日本語ｶﾅ', '93fa967b8ceab6c5'],
  ['EUC_JP', '日本語', 'c6fccbdcb8ec'],
  ['EUC_KR', '한국', 'c7d1b1b9'],
  ['UHC', '한국어', 'c7d1b1b9beee'],
  ['EUC_CN', '中文', 'd6d0cec4'],
  ['GBK', '中文', 'd6d0cec4'],
  ['BIG5', '中文', 'a4a4a4e5'],
];

describe('client encodings', () => {
  test.each(samples)('%s converts to and from UTF8', (encoding, text, hex) => {
    const codec = clientCodec(clientEncodingName(encoding));
    expect(codec.name).toBe(encoding);
    const bytes = codec.fromUtf8(Buffer.from(text));
    expect(bytes.toString('hex')).toBe(hex);
    expect(codec.decode(bytes)).toBe(text);
    expect(codec.toUtf8(bytes).toString('utf8')).toBe(text);
    // A character no single-byte or CJK table here has.
    expect(() => codec.fromUtf8(Buffer.from('x 🙂'))).toThrow(
      expect.objectContaining({ code: '22P05' }) as unknown as Error,
    );
    expect(codec.fromUtf8Lossy(Buffer.from('x 🙂')).toString('latin1')).toBe('x ?');
  });

  test('names are matched as PostgreSQL does (case, punctuation, aliases)', () => {
    expect(clientEncodingName('latin-1')).toBe('LATIN1');
    expect(clientEncodingName('ISO-8859-1')).toBe('LATIN1');
    expect(clientEncodingName('Windows-1252')).toBe('WIN1252');
    expect(clientEncodingName('koi8-r')).toBe('KOI8R');
    expect(clientEncodingName('Shift_JIS')).toBe('SJIS');
    expect(clientEncodingName('unicode')).toBe('UTF8');
    expect(clientEncodingName('sql_ascii')).toBe('SQL_ASCII');
    expect(() => clientEncodingName('JOHAB')).toThrow(
      expect.objectContaining({
        code: '22023',
        fields: expect.objectContaining({ detail: 'Conversion between JOHAB and UTF8 is not supported.' }),
      }) as unknown as Error,
    );
  });

  test('bytes undefined in the client encoding are 22P05; broken sequences are 22021', () => {
    expect(() => clientCodec('WIN1252').decode(Buffer.from([0x41, 0x81]))).toThrow(
      'character with byte sequence 0x81 in encoding "WIN1252" has no equivalent in encoding "UTF8"',
    );
    expect(() => clientCodec('UTF8').decode(Buffer.from([0x41, 0xc3]))).toThrow(
      'invalid byte sequence for encoding "UTF8": 0xc3',
    );
    expect(() => clientCodec('EUC_JP').decode(Buffer.from([0xa4, 0x41]))).toThrow(
      'invalid byte sequence for encoding "EUC_JP": 0xa4 0x41',
    );
  });

  test('a stream keeps a character split across chunks', () => {
    const codec = clientCodec('BIG5');
    const stream = codec.streamToUtf8();
    const bytes = codec.fromUtf8(Buffer.from('中文'));
    const out = Buffer.concat([stream(bytes.subarray(0, 1), false), stream(bytes.subarray(1, 3), false)]);
    expect(Buffer.concat([out, stream(bytes.subarray(3), true)]).toString()).toBe('中文');
  });
});
