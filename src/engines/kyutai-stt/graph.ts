// Writes the ONNX graphs of the Kyutai engine: a thin layer over ModelBuilder that names values,
// adds constants, and streams large weights to disk. An ONNX model is a protobuf, which cannot
// exceed 2 GB, and the 1B LM holds 4 GB of float32 weights; so each weight above a threshold is
// appended to a `weights.bin` beside the model as it is made, and the model refers to it as
// external data. The weights are thus never all in memory at once: onnxruntime maps the file
// when the session starts. Each graph gets a temporary folder of its own (in the system's temp
// folder unless told otherwise), removed by `disposeGraph` (which the session does when it
// closes) or when writing the graph fails.

import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { holdTempPath, releaseTempPath } from '../../common/atomic.js';
import { QuantgateError, describeError } from '../../common/errors.js';
import { ModelBuilder, type Dim, type NodeOptions } from '../onnx/builder.js';
import { MICROSOFT_DOMAIN } from '../onnx/candidate.js';
import {
  DATA_LOCATION_EXTERNAL,
  DataType,
  type AttributeProto,
  type ElementType,
  type ModelProto,
  type TensorProto,
} from '../onnx/proto.js';
import { elementCount, float32Tensor, int64Tensor, rawTensor } from '../onnx/tensors.js';

export const WEIGHTS_FILE = 'weights.bin';
const OPSET = 17;
/** Weights at least this large go to the weights file; smaller ones stay inline, where they cost nothing. */
const EXTERNAL_BYTES = 1 << 16;
/** Offsets in the weights file are multiples of this, the largest granularity onnxruntime maps files with (Windows'). */
const ALIGNMENT = 1 << 16;

/** A built graph: its model, and the folder holding the weights file the model refers to. */
export interface OnnxGraph {
  model: ModelProto;
  dir: string;
}

/** Removes the graph's folder; its model can no longer be loaded. */
export async function disposeGraph(graph: OnnxGraph): Promise<void> {
  await rm(graph.dir, { recursive: true, force: true });
  releaseTempPath(graph.dir);
}

export class GraphWriter {
  private readonly builder = new ModelBuilder({ opset: OPSET }).opset(MICROSOFT_DOMAIN, 1);
  private readonly counts = new Map<string, number>();
  private offset = 0;

  private constructor(
    private readonly dir: string,
    private readonly weights: number,
  ) {}

  /** Writes a graph with `fill`, its folder made in `parent`; on failure nothing is left on disk. */
  static async write(fill: (g: GraphWriter) => Promise<void>, parent = tmpdir()): Promise<OnnxGraph> {
    const dir = await mkdtemp(join(parent, 'quantgate-graph-'));
    // Gigabytes of weights: a stopped run must not leave them behind.
    holdTempPath(dir);
    let writer: GraphWriter | undefined;
    try {
      writer = new GraphWriter(dir, openSync(join(dir, WEIGHTS_FILE), 'w'));
      await fill(writer);
      return { model: writer.builder.build(), dir };
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      releaseTempPath(dir);
      throw error;
    } finally {
      if (writer) closeSync(writer.weights);
    }
  }

  /** A value name not used yet, made from `base`. */
  name(base: string): string {
    const count = this.counts.get(base) ?? 0;
    this.counts.set(base, count + 1);
    return count === 0 ? base : `${base}#${count}`;
  }

  input(name: string, type: ElementType, shape: readonly Dim[]): string {
    this.builder.input(this.exactly(name), type, shape);
    return name;
  }

  /** Makes `value` a graph output named `name`. */
  output(value: string, name: string, type: ElementType, shape?: readonly Dim[]): void {
    this.builder.node('Identity', [value], [this.exactly(name)]);
    this.builder.output(name, type, shape);
  }

  /** A weight initializer; large ones go to the weights file. */
  weight(base: string, dataType: number, dims: readonly number[], bytes: Uint8Array): string {
    const name = this.name(base);
    if (bytes.length < EXTERNAL_BYTES) {
      this.builder.initializer(rawTensor(name, dataType, dims, bytes));
      return name;
    }
    const offset = this.append(bytes);
    const tensor: TensorProto = {
      ...rawTensor(name, dataType, dims, new Uint8Array(0)),
      rawData: undefined,
      dataLocation: DATA_LOCATION_EXTERNAL,
      externalData: [
        entry('location', WEIGHTS_FILE),
        entry('offset', String(offset)),
        entry('length', String(bytes.length)),
      ],
    };
    this.builder.initializer(tensor);
    return name;
  }

  floatWeight(base: string, dims: readonly number[], values: Float32Array): string {
    if (values.length !== elementCount(dims))
      throw new RangeError(`${base}: ${values.length} values do not fill [${dims.join(', ')}]`);
    return this.weight(base, DataType.FLOAT, dims, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }

  floats(base: string, dims: readonly number[], values: ArrayLike<number>): string {
    const name = this.name(base);
    this.builder.initializer(float32Tensor(name, dims, values));
    return name;
  }

  ints(base: string, dims: readonly number[], values: readonly number[]): string {
    const name = this.name(base);
    this.builder.initializer(int64Tensor(name, dims, values));
    return name;
  }

  /** One node with one output, named from `base` (or the op type); returns the output's name. */
  op(
    type: string,
    inputs: readonly string[],
    attributes: AttributeProto[] = [],
    base?: string,
    options: Omit<NodeOptions, 'attributes'> = {},
  ): string {
    const [output] = this.ops(type, inputs, 1, attributes, base, options);
    return output!;
  }

  /** One node with `count` outputs. */
  ops(
    type: string,
    inputs: readonly string[],
    count: number,
    attributes: AttributeProto[] = [],
    base?: string,
    options: Omit<NodeOptions, 'attributes'> = {},
  ): string[] {
    const outputs = Array.from({ length: count }, () => this.name(base ?? type.toLowerCase()));
    this.builder.node(type, inputs, outputs, { ...options, attributes });
    return outputs;
  }

  /** Claims `name` itself, which nothing may have taken. */
  private exactly(name: string): string {
    if (this.counts.has(name)) throw new RangeError(`graph value "${name}" is already taken`);
    this.counts.set(name, 1);
    return name;
  }

  /**
   * Appends `bytes` at the next aligned offset and returns that offset. The writes are synchronous
   * so that adding a weight stays a plain call; the graph builders await each tensor's read anyway.
   */
  private append(bytes: Uint8Array): number {
    const offset = Math.ceil(this.offset / ALIGNMENT) * ALIGNMENT;
    try {
      for (let written = 0; written < bytes.length;)
        written += writeSync(this.weights, bytes, written, bytes.length - written, offset + written);
    } catch (error) {
      throw new QuantgateError(
        `cannot write the engine's weights to ${join(this.dir, WEIGHTS_FILE)} (${describeError(error)}); free some space in the temp folder, or point TMPDIR at a disk with room for the model`,
        { cause: error },
      );
    }
    this.offset = offset + bytes.length;
    return offset;
  }
}

function entry(key: string, value: string) {
  return { key, value, unknownFields: [] };
}
