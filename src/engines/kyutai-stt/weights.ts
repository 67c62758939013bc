// Where the graph builders get their weights: a safetensors file (the reference, and Mimi in both
// variants) or the quantized GGUF (the candidate). Either way a tensor comes out as float32 values,
// or, for the matrix of a linear layer, in the form the graph multiplies with: float32, float16, or
// the GGUF's own Q4_0 blocks when the candidate feeds them to MatMulNBits. One tensor is read at a
// time; conversions from BF16/F16 run in the project's WebAssembly worker pool. The GGUF's tensors
// may have any mix of types; the candidate counts how each one was read, and which were not.

import { QuantgateError } from '../../common/errors.js';
import type { GgmlTypeName } from '../../formats/gguf/constants.js';
import { isFloatDtype, openSafetensors, type SafetensorsReader } from '../../formats/safetensors.js';
import { decode, encode } from '../../quant/codec.js';
import { createConvertPool, type ConvertPool } from '../../quant/pool.js';
import type { QuantizedModel, QuantizedTensors } from '../engine.js';
import type { CoverageCounts, SubstitutedTensor, SubstitutionMode } from '../onnx/candidate.js';

export type FloatType = 'F32' | 'F16';

/** A linear layer's weight, `rows` outputs by `cols` inputs (PyTorch's [out, in]), in `type`'s layout. */
export interface MatrixWeight {
  type: FloatType | 'Q4_0';
  rows: number;
  cols: number;
  bytes: Uint8Array;
}

export interface WeightSource {
  /** Names the weights in errors: a file path. */
  readonly label: string;
  has(name: string): boolean;
  /** Outermost dimension first, as PyTorch has it. */
  shape(name: string): readonly number[];
  floats(name: string): Promise<Float32Array>;
  /** A 2-D tensor for a linear layer; float matrices come as `floatType`. */
  matrix(name: string, floatType: FloatType): Promise<MatrixWeight>;
  close(): Promise<void>;
}

/** Float weights from a `.safetensors` file (F32, F16 or BF16). */
export async function openSafetensorsWeights(path: string): Promise<WeightSource> {
  const reader = await openSafetensors(path);
  return new SafetensorsWeights(reader, createConvertPool());
}

/** Which GGUF tensors the graph read, and how; the GGUF's others are `missing` (the VAD heads, say). */
export interface LmCoverage extends CoverageCounts {
  substituted: {
    name: string;
    type: GgmlTypeName;
    parameters: number;
    substitution: SubstitutedTensor['substitution'];
  }[];
  missing: { name: string; type: GgmlTypeName; parameters: number }[];
}

export interface GgufWeightSource extends WeightSource {
  /** The tensors read so far, and the rest. */
  coverage(): LmCoverage;
}

/**
 * The tensors of a quantized GGUF. In `matmulnbits` mode Q4_0 matrices keep their blocks; every
 * other tensor, and every tensor in `dequant` mode, is decoded to float.
 */
export async function openGgufWeights(
  quantized: QuantizedModel,
  mode: SubstitutionMode,
  label: string,
): Promise<GgufWeightSource> {
  return new GgufWeights(await quantized.open(), mode, label);
}

class SafetensorsWeights implements WeightSource {
  readonly label: string;

  constructor(
    private readonly reader: SafetensorsReader,
    private readonly pool: ConvertPool,
  ) {
    this.label = reader.source;
  }

  has(name: string): boolean {
    return this.reader.tensor(name) !== undefined;
  }

  shape(name: string): readonly number[] {
    return this.tensor(name).shape;
  }

  async floats(name: string): Promise<Float32Array> {
    const bytes = await this.convert(name, 'F32');
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  }

  async matrix(name: string, floatType: FloatType): Promise<MatrixWeight> {
    const [rows, cols] = matrixShape(this.label, name, this.tensor(name).shape);
    return { type: floatType, rows, cols, bytes: await this.convert(name, floatType) };
  }

  async close(): Promise<void> {
    await Promise.all([this.reader.close(), this.pool.close()]);
  }

  private tensor(name: string) {
    const tensor = this.reader.tensor(name);
    if (!tensor) throw missingTensor(this.label, name);
    return tensor;
  }

  private async convert(name: string, target: FloatType): Promise<Uint8Array> {
    const tensor = this.tensor(name);
    if (!isFloatDtype(tensor.dtype)) {
      throw new QuantgateError(
        `${this.label}: tensor ${name} has dtype ${tensor.dtype}, not a float type; the file is not a Kyutai checkpoint — download it again`,
      );
    }
    const bytes = await this.reader.readRange(tensor, 0, tensor.elementCount);
    return (await this.pool.convert({ source: tensor.dtype, target, bytes })).data;
  }
}

class GgufWeights implements GgufWeightSource {
  private readonly byName: ReadonlyMap<string, QuantizedTensors['tensors'][number]>;
  private readonly read = new Map<string, SubstitutedTensor['substitution']>();

  constructor(
    private readonly gguf: QuantizedTensors & { close(): Promise<void> },
    private readonly mode: SubstitutionMode,
    readonly label: string,
  ) {
    this.byName = new Map(gguf.tensors.map((tensor) => [tensor.name, tensor]));
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  shape(name: string): readonly number[] {
    return [...this.tensor(name).ne].reverse();
  }

  async floats(name: string): Promise<Float32Array> {
    const { type, ne } = this.tensor(name);
    this.read.set(name, isQuantized(type) ? 'dequant' : 'dense');
    return decode(
      type,
      await this.gguf.read(name),
      ne.reduce((product, dim) => product * dim, 1),
    );
  }

  async matrix(name: string, floatType: FloatType): Promise<MatrixWeight> {
    const tensor = this.tensor(name);
    const [rows, cols] = matrixShape(this.label, name, this.shape(name));
    if (tensor.type === 'Q4_0' && this.mode === 'matmulnbits') {
      this.read.set(name, 'matmulnbits');
      return { type: 'Q4_0', rows, cols, bytes: await this.gguf.read(name) };
    }
    const values = await this.floats(name);
    const bytes =
      floatType === 'F32' ? new Uint8Array(values.buffer, values.byteOffset, values.byteLength) : encode('F16', values);
    return { type: floatType, rows, cols, bytes };
  }

  coverage(): LmCoverage {
    const coverage: LmCoverage = { substituted: [], missing: [] };
    for (const { name, type, ne } of this.gguf.tensors) {
      const parameters = ne.reduce((product, dim) => product * dim, 1);
      const substitution = this.read.get(name);
      if (substitution) coverage.substituted.push({ name, type, parameters, substitution });
      else coverage.missing.push({ name, type, parameters });
    }
    return coverage;
  }

  close(): Promise<void> {
    return this.gguf.close();
  }

  private tensor(name: string): { type: GgmlTypeName; ne: readonly number[] } {
    const tensor = this.byName.get(name);
    if (!tensor) {
      throw new QuantgateError(
        `${this.label} has no tensor ${name}, which the Kyutai LM needs; quantize the model again without leaving that tensor out (--skip)`,
      );
    }
    return tensor;
  }
}

function isQuantized(type: GgmlTypeName): boolean {
  return type === 'Q4_0' || type === 'Q8_0';
}

/** Throws a one-line error unless tensor `name` has the shape the model's config implies. */
export function expectShape(weights: WeightSource, name: string, expected: readonly number[]): void {
  const shape = weights.shape(name);
  if (shape.length !== expected.length || shape.some((size, i) => size !== expected[i])) {
    throw new QuantgateError(
      `${weights.label}: ${name} has shape [${shape.join(', ')}] where the model's config needs [${expected.join(', ')}]; the weights and the config are from different models — download the model again`,
    );
  }
}

function matrixShape(label: string, name: string, shape: readonly number[]): [number, number] {
  if (shape.length !== 2)
    throw new QuantgateError(
      `${label}: tensor ${name} has shape [${shape.join(', ')}], not a matrix; the file does not hold a Kyutai STT model`,
    );
  return [shape[0]!, shape[1]!];
}

function missingTensor(label: string, name: string): QuantgateError {
  return new QuantgateError(
    `${label} has no tensor ${name}; it is not the checkpoint the model's config.json describes — download the model again`,
  );
}
