// The reference graph made to show the inputs of its linear layers: for each weight asked for, the
// float initializer it was made from is found (weight-match.ts), and the left operand of every
// MatMul or Gemm that multiplies by it becomes an extra graph output, so one run gives the logits
// and those activations. Weights read any other way (a convolution, a lookup, inside a subgraph)
// are listed with the reason, since their inputs are not rows of a product.

import type { LinearInput } from '../engine.js';
import { valueInfo } from './builder.js';
import { collectUses, type Use } from './candidate.js';
import { nodeInt } from './graph.js';
import type { ModelProto } from './proto.js';
import { matchWeights, type OriginalValues, type WeightLayout } from './weight-match.js';

export interface ActivationOutputs {
  /** `model` with one more output per captured input, named by the input's value. */
  model: ModelProto;
  /** The captured inputs; each key is the name of its graph output. */
  inputs: LinearInput[];
  uncaptured: { tensor: string; reason: string }[];
}

/** Adds the inputs of the products by `tensors` to `model`'s outputs; `model` itself is not modified. */
export async function addActivationOutputs(
  model: ModelProto,
  tensors: readonly { name: string; ne: readonly number[] }[],
  original: OriginalValues,
): Promise<ActivationOutputs> {
  const graph = model.graph;
  if (!graph) throw new RangeError('the model has no graph');
  const matches = new Map(
    (
      await matchWeights(
        graph.initializer,
        tensors.map(({ name, ne }) => ({ name, ne, type: 'F32' as const })),
        original,
      )
    ).map((match) => [match.tensor.name, match]),
  );
  const uses = collectUses(graph);
  const inputs = new Map<string, LinearInput>();
  const uncaptured: ActivationOutputs['uncaptured'] = [];
  for (const { name, ne } of tensors) {
    const match = matches.get(name);
    const reads = match ? (uses.get(match.initializer.name!) ?? []) : [];
    const refused = !match
      ? 'no float32 initializer of the graph holds it'
      : reads.length === 0
        ? `its initializer "${match.initializer.name}" feeds no node`
        : reads.map((use) => productBlocker(use)).find((reason) => reason !== undefined);
    if (refused || ne.length !== 2) {
      uncaptured.push({ tensor: name, reason: refused ?? `a ${ne.length}-D tensor, not a matrix` });
      continue;
    }
    for (const use of reads) {
      const along = alongOf(use, match!.layout);
      const value = use.node.input[0]!;
      const input = inputs.get(value) ?? { key: value, width: along === 'rows' ? ne[0]! : ne[1]!, weights: [] };
      inputs.set(value, { ...input, weights: [...input.weights, { tensor: name, along }] });
    }
  }
  const taken = new Set(graph.output.map((output) => output.name));
  const added = [...inputs.keys()].filter((name) => !taken.has(name)).map((name) => valueInfo(name, 'float32'));
  return {
    model: { ...model, graph: { ...graph, output: [...graph.output, ...added] } },
    inputs: [...inputs.values()],
    uncaptured,
  };
}

/** Why `use` is not the right operand of a plain product x · B, or undefined when it is. */
function productBlocker({ node, index, nested }: Use): string | undefined {
  if (nested) return `read by ${node.opType} inside a subgraph`;
  if (node.domain && node.domain !== 'ai.onnx') return `read by ${node.domain}::${node.opType}`;
  if (node.opType === 'MatMul') return index === 1 ? undefined : 'the left operand of MatMul';
  if (node.opType === 'Gemm') {
    if (index !== 1) return `input ${index} of Gemm`;
    return nodeInt(node, 'transA', 0) === 0 ? undefined : 'Gemm with transA';
  }
  return `read by ${node.opType}`;
}

/**
 * Whether the product multiplies x by the GGUF matrix's rows (x · Wᵀ, a Linear layer) or its
 * columns. The initializer holds W itself (`same`) or Wᵀ (`transposed`); Gemm's transB flips it.
 */
function alongOf({ node }: Use, layout: WeightLayout): 'rows' | 'columns' {
  const transposed = node.opType === 'Gemm' && nodeInt(node, 'transB', 0) !== 0;
  return (layout === 'transposed') !== transposed ? 'rows' : 'columns';
}
