// What the reference's pass keeps of the activations it hands over (engine.ts, ActivationSink), for
// `sensitivity --method fast`: per linear layer input, a bounded, deterministic sample of its rows;
// per embedding table, how often each row was looked up. The rows are thinned by stride: every row
// is kept until the sample is full, then every other kept row is dropped and only every second
// row is kept from then on, and so on; so the sample is spread evenly over the whole pass (rows
// 0, s, 2s, … of it), between half and all of its capacity, and the same for the same pass.

import type { ActivationSink, LinearInput } from '../engines/engine.js';

/** Values one input's sample holds at most (4 MiB of float32), unless that is fewer than MIN_SAMPLE_ROWS rows. */
export const SAMPLE_VALUES = 1 << 20;
export const MIN_SAMPLE_ROWS = 256;
export const MAX_SAMPLE_ROWS = 4096;

/** The rows of one input that a product by a weight is evaluated on. */
export interface SampledInput {
  /** `rows.length / width` rows, row-major. */
  rows: Float32Array;
  width: number;
  /** Whether the weight multiplies them as x · Wᵀ (`rows`) or x · W (`columns`); see LinearInput. */
  along: 'rows' | 'columns';
  /** Rows the pass handed over, of which these are a sample. */
  seen: number;
}

export class ActivationSample implements ActivationSink {
  private readonly samples = new Map<string, RowSample>();
  /** Per weight: the inputs it multiplies, by key, and how. */
  private readonly uses = new Map<string, Map<string, 'rows' | 'columns'>>();
  /** Per embedding table: how many times each of its rows was read. */
  private readonly counts = new Map<string, Float64Array>();

  constructor(private readonly tensors: readonly { name: string; ne: readonly number[] }[]) {}

  linear(input: LinearInput, rows: Float32Array): void {
    let sample = this.samples.get(input.key);
    if (!sample) {
      sample = new RowSample(input.width);
      this.samples.set(input.key, sample);
      for (const { tensor, along } of input.weights) {
        const uses = this.uses.get(tensor) ?? new Map<string, 'rows' | 'columns'>();
        this.uses.set(tensor, uses.set(input.key, along));
      }
    }
    sample.add(rows);
  }

  lookup(tensor: string, ids: ArrayLike<number>): void {
    let counts = this.counts.get(tensor);
    if (!counts) {
      const rows = this.tensors.find((each) => each.name === tensor)?.ne[1];
      if (rows === undefined) throw new RangeError(`lookup of ${tensor}, which was not asked for`);
      counts = new Float64Array(rows);
      this.counts.set(tensor, counts);
    }
    for (let i = 0; i < ids.length; i++) counts[ids[i]!]!++;
  }

  /** The sampled inputs `tensor` multiplies, in the order they were first handed over. */
  inputsOf(tensor: string): SampledInput[] {
    return [...(this.uses.get(tensor) ?? [])].map(([key, along]) => {
      const sample = this.samples.get(key)!;
      return { rows: sample.rows(), width: sample.width, along, seen: sample.seen };
    });
  }

  /** How many times each row of the table `tensor` was looked up, or undefined when it never was. */
  lookupsOf(tensor: string): Float64Array | undefined {
    return this.counts.get(tensor);
  }

  /** The weights asked for of which nothing was handed over. */
  get unseen(): string[] {
    return this.tensors.map(({ name }) => name).filter((name) => !this.uses.has(name) && !this.counts.has(name));
  }

  /** Bytes the samples hold. */
  get bytes(): number {
    let bytes = 0;
    for (const sample of this.samples.values()) bytes += sample.bytes;
    for (const counts of this.counts.values()) bytes += counts.byteLength;
    return bytes;
  }
}

/** Rows 0, s, 2s, … of a stream of rows, s doubling whenever the buffer fills. */
class RowSample {
  readonly capacity: number;
  private buffer: Float32Array;
  private kept = 0;
  private stride = 1;
  /** Rows handed over so far. */
  seen = 0;

  constructor(readonly width: number) {
    this.capacity = Math.min(MAX_SAMPLE_ROWS, Math.max(MIN_SAMPLE_ROWS, Math.floor(SAMPLE_VALUES / width)));
    // Grown as rows come, so that a short pass holds only what it saw.
    this.buffer = new Float32Array(Math.min(this.capacity, 64) * width);
  }

  add(rows: Float32Array): void {
    const { width } = this;
    if (rows.length % width !== 0) throw new RangeError(`${rows.length} values are not whole rows of ${width}`);
    for (let offset = 0; offset < rows.length; offset += width, this.seen++) {
      if (this.seen % this.stride !== 0) continue;
      if (this.kept === this.capacity) {
        this.thin();
        if (this.seen % this.stride !== 0) continue;
      }
      if ((this.kept + 1) * width > this.buffer.length) this.grow();
      this.buffer.set(rows.subarray(offset, offset + width), this.kept * width);
      this.kept++;
    }
  }

  rows(): Float32Array {
    return this.buffer.subarray(0, this.kept * this.width);
  }

  get bytes(): number {
    return this.buffer.byteLength;
  }

  /** Keeps every other row, and from now on every other row of those the stride kept. */
  private thin(): void {
    const { width } = this;
    for (let row = 2; row < this.kept; row += 2)
      this.buffer.copyWithin((row / 2) * width, row * width, (row + 1) * width);
    this.kept = Math.ceil(this.kept / 2);
    this.stride *= 2;
  }

  private grow(): void {
    const grown = new Float32Array(Math.min(this.capacity, (this.buffer.length / this.width) * 2) * this.width);
    grown.set(this.buffer);
    this.buffer = grown;
  }
}
