// Builds ONNX models in code: inputs, outputs, initializers and nodes added in order, opset imports
// for the default domain and extension domains such as com.microsoft, and typed constructors for
// nodes, attributes and value infos. Engines assemble whole graphs with it; tests build small ones.

import { TOOL_NAME, TOOL_VERSION } from '../../version.js';
import {
  AttributeType,
  ELEMENT_TYPES,
  type AttributeProto,
  type ElementType,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from './proto.js';

/** A dimension: a fixed size, or a name for a size known only at run time. */
export type Dim = number | string;

export interface ModelBuilderOptions {
  /** Version of the default ONNX domain (at least 17; default 17). */
  opset?: number;
  graphName?: string;
}

export interface NodeOptions {
  /** Operator domain; it needs an `opset` import. Default: the ONNX domain. */
  domain?: string;
  name?: string;
  attributes?: AttributeProto[];
}

/** The lowest default-domain opset the builder writes. */
const MIN_OPSET = 17;
/** The IR version each opset needs, from onnx's release table (opset 18: IR 8, 19–20: 9, 21–22: 10, 23: 11). */
const IR_VERSION_FOR_OPSET: readonly [maxOpset: number, irVersion: number][] = [
  [18, 8],
  [20, 9],
  [22, 10],
];
const LATEST_IR_VERSION = 11;

export class ModelBuilder {
  private readonly graph: GraphProto;
  private readonly opsets = new Map<string, number>();
  private readonly valueNames = new Set<string>();

  constructor(options: ModelBuilderOptions = {}) {
    const opset = options.opset ?? MIN_OPSET;
    if (!Number.isInteger(opset) || opset < MIN_OPSET)
      throw new RangeError(`opset ${opset} is below ${MIN_OPSET}, the lowest the builder writes`);
    this.opsets.set('', opset);
    this.graph = {
      name: options.graphName ?? 'main',
      node: [],
      initializer: [],
      input: [],
      output: [],
      valueInfo: [],
      unknownFields: [],
    };
  }

  /** Imports `version` of operator set `domain`, e.g. ('com.microsoft', 1). */
  opset(domain: string, version: number): this {
    this.opsets.set(domain, version);
    return this;
  }

  input(name: string, type: ElementType, shape: readonly Dim[]): this {
    this.claim(name);
    this.graph.input.push(valueInfo(name, type, shape));
    return this;
  }

  /** A graph output; `shape` may be left out when onnxruntime is to infer it. */
  output(name: string, type: ElementType, shape?: readonly Dim[]): this {
    this.graph.output.push(valueInfo(name, type, shape));
    return this;
  }

  initializer(tensor: TensorProto): this {
    this.claim(tensor.name ?? '');
    this.graph.initializer.push(tensor);
    return this;
  }

  /** Appends a node; nodes must be added in an order where each input already exists. */
  node(opType: string, inputs: readonly string[], outputs: readonly string[], options: NodeOptions = {}): this {
    if (!this.opsets.has(options.domain ?? ''))
      throw new RangeError(
        `node ${opType} uses domain "${options.domain}", which has no opset import; call opset() first`,
      );
    for (const output of outputs) this.claim(output);
    this.graph.node.push(makeNode(opType, inputs, outputs, options));
    return this;
  }

  /** The model so far; later calls on the builder do not change it. */
  build(): ModelProto {
    const opset = this.opsets.get('')!;
    const { name, node, initializer, input, output } = this.graph;
    return {
      irVersion: IR_VERSION_FOR_OPSET.find(([maxOpset]) => opset <= maxOpset)?.[1] ?? LATEST_IR_VERSION,
      producerName: TOOL_NAME,
      producerVersion: TOOL_VERSION,
      graph: {
        name,
        node: [...node],
        initializer: [...initializer],
        input: [...input],
        output: [...output],
        valueInfo: [],
        unknownFields: [],
      },
      opsetImport: [...this.opsets].map(([domain, opsetVersion]) => ({
        domain,
        version: opsetVersion,
        unknownFields: [],
      })),
      metadataProps: [],
      unknownFields: [],
    };
  }

  private claim(name: string): void {
    if (!name) throw new RangeError('every input, initializer and node output needs a name');
    if (this.valueNames.has(name)) throw new RangeError(`value "${name}" is defined twice`);
    this.valueNames.add(name);
  }
}

export function makeNode(
  opType: string,
  inputs: readonly string[],
  outputs: readonly string[],
  options: NodeOptions = {},
): NodeProto {
  return {
    opType,
    input: [...inputs],
    output: [...outputs],
    ...(options.name !== undefined && { name: options.name }),
    ...(options.domain && { domain: options.domain }),
    attribute: options.attributes ?? [],
    unknownFields: [],
  };
}

/** A tensor-typed ValueInfoProto; without `shape` the rank is left unknown. */
export function valueInfo(name: string, type: ElementType, shape?: readonly Dim[]): ValueInfoProto {
  const dims = shape?.map((dim) =>
    typeof dim === 'number' ? { dimValue: dim, unknownFields: [] } : { dimParam: dim, unknownFields: [] },
  );
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEMENT_TYPES[type],
        ...(dims && { shape: { dim: dims, unknownFields: [] } }),
        unknownFields: [],
      },
      unknownFields: [],
    },
    unknownFields: [],
  };
}

function attribute(name: string, type: number, value: Partial<AttributeProto>): AttributeProto {
  return { name, type, floats: [], ints: [], strings: [], tensors: [], graphs: [], unknownFields: [], ...value };
}

export function intAttribute(name: string, value: number | bigint): AttributeProto {
  return attribute(name, AttributeType.INT, { i: BigInt(value) });
}

export function floatAttribute(name: string, value: number): AttributeProto {
  return attribute(name, AttributeType.FLOAT, { f: value });
}

export function intsAttribute(name: string, values: readonly (number | bigint)[]): AttributeProto {
  return attribute(name, AttributeType.INTS, { ints: values.map((value) => BigInt(value)) });
}

export function stringAttribute(name: string, value: string): AttributeProto {
  return attribute(name, AttributeType.STRING, { s: new TextEncoder().encode(value) });
}

/** A tensor attribute, e.g. the `value` of a Constant node. */
export function tensorAttribute(name: string, tensor: TensorProto): AttributeProto {
  return attribute(name, AttributeType.TENSOR, { t: tensor });
}

/** A graph attribute, e.g. a branch of If or the body of Loop (build it with another ModelBuilder). */
export function graphAttribute(name: string, graph: GraphProto): AttributeProto {
  return attribute(name, AttributeType.GRAPH, { g: graph });
}
