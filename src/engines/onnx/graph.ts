// Read-only walks over a decoded graph: the subgraphs nested in control-flow nodes (If, Loop,
// Scan), the tensors stored anywhere in a graph, and typed attribute look-ups.

import type { AttributeProto, GraphProto, NodeProto, TensorProto } from './proto.js';

/** The graphs held by `node`'s attributes (If branches, Loop and Scan bodies), not recursing. */
export function nodeSubgraphs(node: NodeProto): GraphProto[] {
  return node.attribute.flatMap((attribute) => [...(attribute.g ? [attribute.g] : []), ...attribute.graphs]);
}

/** `graph` and every graph nested in it, outermost first. */
export function* allGraphs(graph: GraphProto): Generator<GraphProto> {
  yield graph;
  for (const node of graph.node) {
    for (const subgraph of nodeSubgraphs(node)) yield* allGraphs(subgraph);
  }
}

/** Every tensor stored in `graph` or its subgraphs: initializers and tensor attributes (Constant values). */
export function* allTensors(graph: GraphProto): Generator<TensorProto> {
  for (const each of allGraphs(graph)) {
    yield* each.initializer;
    for (const node of each.node) {
      for (const attribute of node.attribute) {
        if (attribute.t) yield attribute.t;
        yield* attribute.tensors;
      }
    }
  }
}

function findAttribute(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute.find((attribute) => attribute.name === name);
}

/** An int attribute's value, or `fallback` when the node does not set it. */
export function nodeInt(node: NodeProto, name: string, fallback: number): number {
  const value = findAttribute(node, name)?.i;
  return value === undefined ? fallback : Number(value);
}

/** A float attribute's value, or `fallback` when the node does not set it. */
export function nodeFloat(node: NodeProto, name: string, fallback: number): number {
  return findAttribute(node, name)?.f ?? fallback;
}
