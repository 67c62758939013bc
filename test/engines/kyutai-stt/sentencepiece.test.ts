import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { QuantgateError } from '../../../src/common/errors.js';
import { parseSentencePiece, readSentencePiece } from '../../../src/engines/kyutai-stt/sentencepiece.js';
import { makeTempDir, removeTempDirs } from '../../helpers/paths.js';
import { sentencePieceModel } from './golden.js';

afterAll(removeTempDirs);

const PIECES = [
  { piece: '<unk>', type: 2 },
  { piece: '<s>', type: 3 },
  { piece: '</s>', type: 3 },
  { piece: '▁hello' },
  { piece: '▁wor' },
  { piece: 'ld' },
  { piece: '▁' },
  { piece: '<0xC3>', type: 6 },
  { piece: '<0xA9>', type: 6 },
  { piece: '<0xFF>', type: 6 },
  { piece: '▁caf' },
  { piece: 'a▁b' },
];

describe('SentencePiece decoding', () => {
  const decoder = parseSentencePiece(sentencePieceModel(PIECES), 'test.model');

  it('reads every piece', () => {
    expect(decoder.size).toBe(PIECES.length);
  });

  it('turns word boundaries into spaces and drops the leading one', () => {
    expect(decoder.decode([3, 4, 5])).toBe('hello world');
    expect(decoder.decode([11])).toBe('a b');
  });

  it('drops control and unknown pieces without losing the words around them', () => {
    expect(decoder.decode([1, 3, 0, 4, 5, 2])).toBe('hello world');
  });

  it('joins byte pieces into UTF-8 characters', () => {
    expect(decoder.decode([10, 7, 8])).toBe('café');
    expect(decoder.decode([3, 6, 7, 8])).toBe('hello é');
  });

  it('replaces a byte sequence that is not UTF-8 with U+FFFD', () => {
    expect(decoder.decode([3, 9])).toBe('hello\uFFFD');
  });

  it('keeps the leading space when the model adds no dummy prefix', () => {
    expect(parseSentencePiece(sentencePieceModel(PIECES, false), 'test.model').decode([3, 4, 5])).toBe(' hello world');
  });

  it('decodes nothing to the empty string', () => {
    expect(decoder.decode([])).toBe('');
  });

  it('refuses an id outside the vocabulary', () => {
    expect(() => decoder.decode([PIECES.length])).toThrow(RangeError);
  });
});

describe('reading a .model file', () => {
  it('reads the tokenizer from disk', async () => {
    const path = join(await makeTempDir(), 'tokenizer.model');
    await writeFile(path, sentencePieceModel(PIECES));
    expect((await readSentencePiece(path)).decode([3])).toBe('hello');
  });

  it('names a missing file in a one-line error', async () => {
    const path = join(await makeTempDir(), 'absent.model');
    await expect(readSentencePiece(path)).rejects.toThrow(
      /^cannot read the tokenizer \S+absent\.model \(.*ENOENT.*\); download the model again$/,
    );
  });

  it('refuses truncated bytes', () => {
    const bytes = sentencePieceModel(PIECES);
    expect(() => parseSentencePiece(bytes.subarray(0, bytes.length - 5), 'cut.model')).toThrow(QuantgateError);
    expect(() => parseSentencePiece(bytes.subarray(0, bytes.length - 5), 'cut.model')).toThrow(
      /^cut\.model: not a valid SentencePiece model .*; the file is truncated/,
    );
  });

  it('refuses a protobuf without pieces', () => {
    expect(() => parseSentencePiece(new Uint8Array(0), 'empty.model')).toThrow(
      /^empty\.model holds no pieces; it is not a SentencePiece model/,
    );
  });
});
