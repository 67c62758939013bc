// Streams one GGUF file into a sink: the planned header, then each tensor's bytes as the caller
// produces them, with zero padding to the alignment after every tensor, as ggml writes it.
// Tensors must arrive in the planned order with exactly their planned size; anything else is a
// bug in the caller and fails before a wrong byte is written.

import { writeAtomic } from '../../common/atomic.js';
import { alignUp, type GgufLayout } from './layout.js';
import { HashingSink, type ByteSink, type WrittenFile } from './sink.js';

export type TensorChunks = Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/** What a producer of tensor data talks to, whatever the output format. */
export interface GgufDataWriter {
  /** Writes the next tensor, which must be `name`, from `chunks` totalling its exact byte size. */
  writeTensor(name: string, chunks: TensorChunks): Promise<void>;
}

export class GgufWriter implements GgufDataWriter {
  private next = 0;

  private constructor(
    private readonly sink: ByteSink,
    private readonly layout: GgufLayout,
  ) {}

  /** Writes the header (and its padding) and returns a writer for the data section. */
  static async begin(sink: ByteSink, layout: GgufLayout): Promise<GgufWriter> {
    await sink.write(layout.header);
    return new GgufWriter(sink, layout);
  }

  /** Whether every planned tensor has been written. */
  get complete(): boolean {
    return this.next === this.layout.tensors.length;
  }

  async writeTensor(name: string, chunks: TensorChunks): Promise<void> {
    const tensor = this.layout.tensors[this.next];
    if (!tensor)
      throw new Error(`GGUF writer got tensor "${name}" after all ${this.layout.tensors.length} planned tensors`);
    if (tensor.name !== name) throw new Error(`GGUF writer expected tensor "${tensor.name}" next but got "${name}"`);
    let written = 0;
    for await (const chunk of chunks) {
      if (written + chunk.byteLength > tensor.size) {
        throw new Error(`tensor "${name}" got more than its ${tensor.size} bytes`);
      }
      await this.sink.write(chunk);
      written += chunk.byteLength;
    }
    if (written !== tensor.size) throw new Error(`tensor "${name}" got ${written} bytes but needs ${tensor.size}`);
    const padding = alignUp(tensor.size, this.layout.alignment) - tensor.size;
    if (padding > 0) await this.sink.write(new Uint8Array(padding));
    this.next++;
  }

  /** Fails unless every planned tensor was written. */
  finish(): void {
    if (!this.complete) {
      throw new Error(
        `GGUF writer finished after ${this.next} of ${this.layout.tensors.length} tensors; "${this.layout.tensors[this.next]!.name}" is missing`,
      );
    }
  }
}

/**
 * Writes `layout` to `path` atomically: `fill` writes every tensor through the writer it gets;
 * if it throws, no file is left behind.
 */
export async function writeGgufFile(
  path: string,
  layout: GgufLayout,
  fill: (writer: GgufDataWriter) => Promise<void>,
): Promise<WrittenFile> {
  let written: WrittenFile | undefined;
  await writeAtomic(path, async (file) => {
    const sink = new HashingSink(file);
    const writer = await GgufWriter.begin(sink, layout);
    await fill(writer);
    writer.finish();
    written = { path, size: sink.bytesWritten, sha256: sink.digest() };
  });
  return written!;
}
