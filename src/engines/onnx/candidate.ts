// The candidate model: the float ONNX model with every tensor of the GGUF put in place of the
// initializer it was made from, so the candidate's WER measures the file that ships, whatever mix
// of types it holds. Q4_0 and Q8_0 tensors go in one of two modes:
//   matmulnbits — MatMul(X, W) and Gemm(X, W) become com.microsoft::MatMulNBits fed straight from
//                 the Q4_0 blocks (see matmulnbits.ts); only Q4_0 matrices whose blocks run along
//                 the product's inner dimension qualify, any other use of the weight is dequantized;
//   dequant     — the float initializer is overwritten with the GGUF's dequantized values.
// F16 and F32 tensors go in as dense float32 weights in either mode. If any Q4_0/Q8_0 tensor cannot
// be placed in the graph the candidate is refused, since the WER would then not measure the GGUF;
// float tensors that reach no node (a parameter the export folded away) are listed as missing.

import { QuantgateError } from '../../common/errors.js';
import { formatCount } from '../../common/format.js';
import { silentProgress, type Progress } from '../../common/progress.js';
import type { GgmlTypeName } from '../../formats/gguf/constants.js';
import { decode } from '../../quant/codec.js';
import type { QuantizedTensors } from '../engine.js';
import { intAttribute, makeNode } from './builder.js';
import { allGraphs, nodeFloat, nodeInt, nodeSubgraphs } from './graph.js';
import { Q4_0_BLOCK_VALUES, q4_0ToMatMulNBits, type MatMulNBitsWeight } from './matmulnbits.js';
import { DataType, type GraphProto, type ModelProto, type NodeProto, type TensorProto } from './proto.js';
import { elementCount, rawTensor, transposeMatrix } from './tensors.js';
import {
  matchWeights,
  type OriginalValues,
  type QuantizedTensorInfo,
  type WeightLayout,
  type WeightMatch,
} from './weight-match.js';

export const MICROSOFT_DOMAIN = 'com.microsoft';
const QUANTIZED_TYPES: ReadonlySet<GgmlTypeName> = new Set(['Q4_0', 'Q8_0']);

export type SubstitutionMode = 'matmulnbits' | 'dequant';

export interface CandidateOptions {
  /** Default `matmulnbits`. */
  mode?: SubstitutionMode;
  /** The original float values of GGUF tensors; without it only initializers named like the GGUF tensors are found. */
  original?: OriginalValues;
  progress?: Progress;
}

export interface SubstitutedTensor {
  /** The GGUF tensor. */
  name: string;
  type: GgmlTypeName;
  parameters: number;
  /** The ONNX initializer it replaced. */
  initializer: string;
  matchedBy: 'name' | 'content';
  layout: WeightLayout;
  /**
   * How the graph reads it now: a quantized tensor through MatMulNBits, dequantized, or some uses
   * each; an F16 or F32 tensor as a dense float32 weight.
   */
  substitution: 'matmulnbits' | 'dequant' | 'mixed' | 'dense';
  /** Why (some) uses read dequantized values. */
  dequantReason?: string;
}

export interface MissingTensor {
  name: string;
  type: GgmlTypeName;
  parameters: number;
  reason: string;
}

export interface CandidateCoverage {
  mode: SubstitutionMode;
  substituted: SubstitutedTensor[];
  /** GGUF tensors whose values do not reach the graph: float ones only, since a quantized one refuses the candidate. */
  missing: MissingTensor[];
}

export interface Candidate {
  model: ModelProto;
  coverage: CandidateCoverage;
}

/** Builds the candidate from the float `model`; `model` itself is not modified. */
export async function buildCandidate(
  model: ModelProto,
  quantized: QuantizedTensors,
  options: CandidateOptions = {},
): Promise<Candidate> {
  const mode = options.mode ?? 'matmulnbits';
  const progress = options.progress ?? silentProgress;
  const graph = model.graph;
  if (!graph) throw new RangeError('the model has no graph');
  const targets = quantized.tensors;
  const matches = new Map(
    (await matchWeights(graph.initializer, targets, options.original, progress)).map((match) => [
      match.tensor.name,
      match,
    ]),
  );
  const uses = collectUses(graph);
  const graphOutputs = new Set(graph.output.map((output) => output.name));

  const placed: { match: WeightMatch; plan: UsePlan }[] = [];
  const missing: MissingTensor[] = [];
  for (const tensor of targets) {
    const match = matches.get(tensor.name);
    const name = match?.initializer.name;
    const read = name !== undefined && (uses.has(name) || graphOutputs.has(name));
    if (!match || !read) {
      const reason = match ? `its initializer "${name}" feeds no node` : missingReason(options.original);
      missing.push({ name: tensor.name, type: tensor.type, parameters: elementCount(tensor.ne), reason });
    } else {
      placed.push({ match, plan: planUses(match, uses.get(name) ?? [], graphOutputs.has(name), mode) });
    }
  }
  refuseLostQuantizedTensors(missing);

  const edit = new GraphEdit(graph);
  const substituted: SubstitutedTensor[] = [];
  const task = progress.task('Substituting GGUF tensors into the ONNX graph', {
    total: placed.length,
    unit: 'count',
    unitName: 'tensors',
  });
  for (const { match, plan } of placed) {
    const { tensor, initializer } = match;
    const bytes = await quantized.read(tensor.name);
    if (plan.fused.length > 0) {
      const weight = q4_0ToMatMulNBits(bytes, tensor.ne[1], tensor.ne[0]);
      const inputs = edit.addMatMulNBitsWeight(initializer.name!, weight);
      for (const use of plan.fused) edit.replaceNode(use.node, matMulNBitsNodes(use.node, inputs, weight, edit));
    }
    const dense = !QUANTIZED_TYPES.has(tensor.type);
    edit.replaceInitializer(
      initializer,
      dense || plan.dequantReason !== undefined ? dequantized(match, bytes) : undefined,
    );
    substituted.push({
      name: tensor.name,
      type: tensor.type,
      parameters: elementCount(tensor.ne),
      initializer: initializer.name!,
      matchedBy: match.matchedBy,
      layout: match.layout,
      substitution: dense
        ? 'dense'
        : plan.fused.length === 0
          ? 'dequant'
          : plan.dequantReason === undefined
            ? 'matmulnbits'
            : 'mixed',
      ...(!dense && plan.dequantReason !== undefined && { dequantReason: plan.dequantReason }),
    });
    task.advance(1);
  }
  task.finish();

  const usesMatMulNBits = substituted.some(
    (entry) => entry.substitution === 'matmulnbits' || entry.substitution === 'mixed',
  );
  const importsMicrosoft = model.opsetImport.some((opset) => opset.domain === MICROSOFT_DOMAIN);
  return {
    model: {
      ...model,
      graph: edit.apply(),
      opsetImport:
        usesMatMulNBits && !importsMicrosoft
          ? [...model.opsetImport, { domain: MICROSOFT_DOMAIN, version: 1, unknownFields: [] }]
          : model.opsetImport,
    },
    coverage: { mode, substituted, missing },
  };
}

/** What a coverage line counts: how each GGUF tensor reached a graph, and which did not. */
export interface CoverageCounts {
  substituted: readonly Pick<SubstitutedTensor, 'parameters' | 'substitution'>[];
  missing: readonly Pick<MissingTensor, 'name' | 'parameters'>[];
}

/** One line for logs: how many GGUF tensors and parameters reached `graph`, and how. */
export function summarizeCoverage(coverage: CoverageCounts, graph = 'the ONNX graph'): string {
  const parameters = (entries: readonly { parameters: number }[]) =>
    formatCount(entries.reduce((sum, entry) => sum + entry.parameters, 0));
  const group = (entries: readonly { parameters: number }[]) => `${entries.length} (${parameters(entries)})`;
  const by = (substitution: SubstitutedTensor['substitution']) =>
    coverage.substituted.filter((entry) => entry.substitution === substitution);
  const { substituted, missing } = coverage;
  let text = `${substituted.length} GGUF tensors (${parameters(substituted)} parameters) substituted into ${graph}: ${group(by('matmulnbits'))} through MatMulNBits, ${group(by('dequant'))} dequantized`;
  if (by('mixed').length > 0) text += `, ${group(by('mixed'))} partly each`;
  text += `, ${group(by('dense'))} F16/F32 as dense weights`;
  return `${text}; ${missing.length === 0 ? 'none missing' : `${group(missing)} not in the graph: ${missing.map((entry) => entry.name).join(', ')}`}`;
}

/** A place where a value is read: input `index` of `node`, in the main graph or a nested one. */
export interface Use {
  node: NodeProto;
  index: number;
  nested: boolean;
}

/** Every place each value is read, by the value's name. */
export function collectUses(graph: GraphProto): Map<string, Use[]> {
  const uses = new Map<string, Use[]>();
  const add = (name: string, use: Use) => {
    const list = uses.get(name);
    if (list) list.push(use);
    else uses.set(name, [use]);
  };
  for (const node of graph.node) {
    node.input.forEach((name, index) => add(name, { node, index, nested: false }));
    for (const subgraph of nodeSubgraphs(node)) {
      for (const inner of allGraphs(subgraph)) {
        for (const innerNode of inner.node)
          innerNode.input.forEach((name, index) => add(name, { node: innerNode, index, nested: true }));
      }
    }
  }
  return uses;
}

function missingReason(original: OriginalValues | undefined): string {
  return original
    ? 'no float32 initializer has its name, or its content in either orientation'
    : 'no float32 initializer has its name, and no original weights were given to compare content';
}

function refuseLostQuantizedTensors(missing: readonly MissingTensor[]): void {
  const lost = missing.filter((entry) => QUANTIZED_TYPES.has(entry.type));
  if (lost.length === 0) return;
  const parameters = lost.reduce((sum, entry) => sum + entry.parameters, 0);
  const shown = lost.slice(0, 3).map((entry) => `"${entry.name}" (${entry.reason})`);
  if (lost.length > shown.length) shown.push(`${lost.length - shown.length} more`);
  throw new QuantgateError(
    `quantized GGUF tensors missing from the ONNX graph, so its WER would not measure the GGUF: ${lost.length} (${formatCount(parameters)} parameters): ${shown.join(', ')}; export the ONNX model from the checkpoint that was quantized, with its weights as initializers`,
  );
}

interface UsePlan {
  /** Uses rewritten to MatMulNBits. */
  fused: Use[];
  /** Set when the dequantized initializer stays in the graph, saying why. */
  dequantReason?: string;
}

function planUses(match: WeightMatch, uses: readonly Use[], isGraphOutput: boolean, mode: SubstitutionMode): UsePlan {
  const whole = wholeTensorBlocker(match.tensor, mode);
  if (whole) return { fused: [], dequantReason: whole };
  const fused: Use[] = [];
  const reasons = new Set<string>(isGraphOutput ? ['it is a graph output'] : []);
  for (const use of uses) {
    const blocker = useBlocker(use, match.layout);
    if (blocker) reasons.add(blocker);
    else fused.push(use);
  }
  return { fused, ...(reasons.size > 0 && { dequantReason: [...reasons].join('; ') }) };
}

function wholeTensorBlocker(tensor: QuantizedTensorInfo, mode: SubstitutionMode): string | undefined {
  if (mode === 'dequant') return 'dequant mode';
  if (tensor.type !== 'Q4_0') return `${tensor.type} has no MatMulNBits form here`;
  if (tensor.ne.length !== 2) return `a ${tensor.ne.length}-D tensor, not a matrix`;
  return undefined;
}

/** Why `use` cannot read the weight through MatMulNBits, or undefined when it can. */
function useBlocker(use: Use, layout: WeightLayout): string | undefined {
  const { node, index } = use;
  const op = node.domain && node.domain !== 'ai.onnx' ? `${node.domain}::${node.opType}` : node.opType;
  if (use.nested) return `read by ${op} inside a subgraph`;
  if (op === 'MatMul') {
    if (index !== 1) return 'left operand of MatMul';
    return layout === 'transposed' ? undefined : 'MatMul multiplies across its Q4_0 blocks (its layout is [N, K])';
  }
  if (op === 'Gemm') {
    if (index !== 1) return `input ${index} of Gemm`;
    if (nodeInt(node, 'transA', 0) !== 0 || nodeFloat(node, 'alpha', 1) !== 1) return 'Gemm with transA or alpha';
    if (node.input[2] && nodeFloat(node, 'beta', 1) !== 1) return 'Gemm with beta other than 1';
    const needed: WeightLayout = nodeInt(node, 'transB', 0) !== 0 ? 'same' : 'transposed';
    return layout === needed ? undefined : 'Gemm multiplies across its Q4_0 blocks';
  }
  return `read by ${op}`;
}

/** MatMul(A, W) → MatMulNBits(A, B, scales); Gemm(A, W, C) → MatMulNBits(A, B, scales) + C. */
function matMulNBitsNodes(
  node: NodeProto,
  [packed, scales]: readonly [string, string],
  weight: MatMulNBitsWeight,
  edit: GraphEdit,
): NodeProto[] {
  const attributes = [
    intAttribute('K', weight.k),
    intAttribute('N', weight.n),
    intAttribute('bits', 4),
    intAttribute('block_size', Q4_0_BLOCK_VALUES),
  ];
  const [a, , bias] = node.input;
  const options = { domain: MICROSOFT_DOMAIN, attributes, ...(node.name !== undefined && { name: node.name }) };
  if (!bias) return [makeNode('MatMulNBits', [a, packed, scales], node.output, options)];
  const product = edit.freshName(`${node.output[0]}_matmulnbits`);
  return [
    makeNode('MatMulNBits', [a, packed, scales], [product], options),
    makeNode('Add', [product, bias], node.output, { name: edit.freshName(`${node.name ?? node.output[0]}_bias`) }),
  ];
}

/** The initializer holding the GGUF tensor's values as float32, in the initializer's layout. */
function dequantized({ tensor, initializer, layout }: WeightMatch, bytes: Uint8Array): TensorProto {
  const [cols, rows] = tensor.ne;
  const gguf = decode(tensor.type, bytes, elementCount(tensor.ne));
  const values = layout === 'transposed' ? transposeMatrix(gguf, rows, cols) : gguf;
  return {
    ...initializer,
    dataType: DataType.FLOAT,
    rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
    floatData: [],
  };
}

/** Edits to one graph, collected and then applied into a new graph; the original is not touched. */
class GraphEdit {
  private readonly nodes = new Map<NodeProto, NodeProto[]>();
  /** undefined: the initializer is removed. */
  private readonly initializers = new Map<TensorProto, TensorProto | undefined>();
  private readonly added: TensorProto[] = [];
  private readonly taken = new Set<string>();

  constructor(private readonly graph: GraphProto) {
    for (const each of allGraphs(graph)) {
      for (const value of [...each.input, ...each.output, ...each.valueInfo, ...each.initializer])
        if (value.name) this.taken.add(value.name);
      for (const node of each.node)
        for (const name of [...node.output, node.name ?? '']) if (name) this.taken.add(name);
    }
  }

  /** `base`, or `base_2`, `base_3`… whichever no value or node in the graph uses yet. */
  freshName(base: string): string {
    let name = base;
    for (let n = 2; this.taken.has(name); n++) name = `${base}_${n}`;
    this.taken.add(name);
    return name;
  }

  /** Adds MatMulNBits' B and scales initializers for the weight `weightName`; returns their names. */
  addMatMulNBitsWeight(weightName: string, weight: MatMulNBitsWeight): [string, string] {
    const blocks = weight.k / Q4_0_BLOCK_VALUES;
    const packed = rawTensor(
      this.freshName(`${weightName}_Q4_0`),
      DataType.UINT8,
      [weight.n, blocks, Q4_0_BLOCK_VALUES / 2],
      weight.packed,
    );
    const scales = rawTensor(
      this.freshName(`${weightName}_scales`),
      DataType.FLOAT,
      [weight.n, blocks],
      new Uint8Array(weight.scales.buffer, weight.scales.byteOffset, weight.scales.byteLength),
    );
    this.added.push(packed, scales);
    return [packed.name!, scales.name!];
  }

  replaceNode(node: NodeProto, replacement: NodeProto[]): void {
    this.nodes.set(node, replacement);
  }

  /** Replaces `initializer`, or removes it (and any graph input or value info of its name) when `replacement` is undefined. */
  replaceInitializer(initializer: TensorProto, replacement: TensorProto | undefined): void {
    this.initializers.set(initializer, replacement);
  }

  apply(): GraphProto {
    const removed = new Set(
      [...this.initializers].filter(([, replacement]) => !replacement).map(([initializer]) => initializer.name),
    );
    const kept = (value: { name?: string }) => !removed.has(value.name);
    return {
      ...this.graph,
      node: this.graph.node.flatMap((node) => this.nodes.get(node) ?? [node]),
      initializer: [
        ...this.graph.initializer.flatMap((initializer) => {
          if (!this.initializers.has(initializer)) return [initializer];
          const replacement = this.initializers.get(initializer);
          return replacement ? [replacement] : [];
        }),
        ...this.added,
      ],
      input: this.graph.input.filter(kept),
      valueInfo: this.graph.valueInfo.filter(kept),
    };
  }
}
