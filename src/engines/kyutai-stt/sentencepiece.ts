// Turns the text token ids of a Kyutai STT model back into text with its SentencePiece `.model`:
// the ModelProto's pieces are read with the project's protobuf reader, then ids are decoded as
// SentencePiece decodes them — "▁" becomes a space, `<0xNN>` byte pieces are gathered into UTF-8,
// control, unknown and unused pieces produce nothing, and the space SentencePiece adds in front
// of the text when encoding (`add_dummy_prefix`) is taken off again.

import { readFile } from 'node:fs/promises';
import { QuantgateError, describeError } from '../../common/errors.js';
import { MalformedProtoError, ProtoReader, WireType } from '../../protobuf/wire.js';

/** sentencepiece_model.proto: ModelProto.SentencePiece.Type. */
const PieceType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

export interface Piece {
  piece: string;
  type: number;
}

const WORD_BOUNDARY = '▁';
const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;
const SILENT_TYPES: ReadonlySet<number> = new Set([PieceType.UNKNOWN, PieceType.CONTROL, PieceType.UNUSED]);

export class SentencePieceDecoder {
  private readonly bytes: (number | undefined)[];

  constructor(
    private readonly pieces: readonly Piece[],
    private readonly addDummyPrefix: boolean,
  ) {
    this.bytes = pieces.map(({ piece, type }) => (type === PieceType.BYTE ? byteValue(piece) : undefined));
  }

  /** The number of pieces: ids run from 0 to size − 1. */
  get size(): number {
    return this.pieces.length;
  }

  decode(ids: readonly number[]): string {
    const utf8 = new TextDecoder();
    let text = '';
    let pending: number[] = [];
    const flush = () => {
      if (pending.length > 0) text += utf8.decode(Uint8Array.from(pending));
      pending = [];
    };
    for (const id of ids) {
      const piece = this.pieces[id];
      if (!piece) throw new RangeError(`token ${id} is outside the vocabulary of ${this.pieces.length} pieces`);
      const byte = this.bytes[id];
      if (byte !== undefined) {
        pending.push(byte);
        continue;
      }
      flush();
      if (!SILENT_TYPES.has(piece.type)) text += piece.piece.replaceAll(WORD_BOUNDARY, ' ');
    }
    flush();
    return this.addDummyPrefix && text.startsWith(' ') ? text.slice(1) : text;
  }
}

export async function readSentencePiece(path: string): Promise<SentencePieceDecoder> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new QuantgateError(`cannot read the tokenizer ${path} (${describeError(error)}); download the model again`, {
      cause: error,
    });
  }
  return parseSentencePiece(bytes, path);
}

/** Parses a serialized sentencepiece ModelProto; `source` names it in errors. */
export function parseSentencePiece(bytes: Uint8Array, source: string): SentencePieceDecoder {
  try {
    const reader = new ProtoReader(bytes);
    const pieces: Piece[] = [];
    let addDummyPrefix = true;
    while (!reader.done) {
      const { field, wireType } = reader.tag();
      if (field === 1 && wireType === WireType.LENGTH_DELIMITED) pieces.push(readPiece(reader.nested()));
      else if (field === 3 && wireType === WireType.LENGTH_DELIMITED)
        addDummyPrefix = readAddDummyPrefix(reader.nested());
      else reader.skip(wireType);
    }
    if (pieces.length === 0)
      throw new QuantgateError(
        `${source} holds no pieces; it is not a SentencePiece model — download the tokenizer again`,
      );
    return new SentencePieceDecoder(pieces, addDummyPrefix);
  } catch (error) {
    if (!(error instanceof MalformedProtoError)) throw error;
    throw new QuantgateError(
      `${source}: not a valid SentencePiece model (${error.message}); the file is truncated or not a tokenizer — download it again`,
      { cause: error },
    );
  }
}

/** ModelProto.SentencePiece: 1 piece, 2 score, 3 type (default NORMAL). */
function readPiece(reader: ProtoReader): Piece {
  let piece = '';
  let type: number = PieceType.NORMAL;
  while (!reader.done) {
    const { field, wireType } = reader.tag();
    if (field === 1 && wireType === WireType.LENGTH_DELIMITED)
      piece = new TextDecoder().decode(reader.lengthDelimited());
    else if (field === 3 && wireType === WireType.VARINT) type = reader.uint();
    else reader.skip(wireType);
  }
  return { piece, type };
}

/** NormalizerSpec field 3, add_dummy_prefix (default true). */
function readAddDummyPrefix(reader: ProtoReader): boolean {
  let value = true;
  while (!reader.done) {
    const { field, wireType } = reader.tag();
    if (field === 3 && wireType === WireType.VARINT) value = reader.uint() !== 0;
    else reader.skip(wireType);
  }
  return value;
}

function byteValue(piece: string): number | undefined {
  const match = BYTE_PIECE.exec(piece);
  return match ? Number.parseInt(match[1]!, 16) : undefined;
}
