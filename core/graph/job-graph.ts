/**
 * Stream graph → job graph: resolves every operator's parallelism, turns 'auto' edges into
 * forward or rebalance, and chains operators joined by a forward edge of equal parallelism
 * into one vertex, so a record crosses a thread boundary only where the data must be
 * redistributed. One task runs per (vertex, subtask).
 */
import type { KeySelector } from '../contract/functions.js';
import { EddyError } from '../failure.js';
import { displayName, type StreamGraph, type StreamNode } from './stream-graph.js';

export type Partitioner = 'forward' | 'rebalance' | 'hash' | 'broadcast';

export interface JobEdge {
  id: number;
  from: number; // vertex id
  to: number; // vertex id
  /** The producing operator (the tail of `from`) and the consuming one (the head of `to`). */
  fromNode: number;
  toNode: number;
  partitioner: Partitioner;
  keySelector?: KeySelector<unknown, unknown>;
  /** Only the records the producer sends to this side-output tag travel on this edge. */
  sideTag?: string;
  /** Which input of a two-input consumer this edge feeds (0 or 1); undefined otherwise. */
  inputSide?: number;
}

export interface JobVertex {
  id: number;
  /** The chained operators, head first. */
  nodes: StreamNode[];
  parallelism: number;
  name: string;
  inputs: JobEdge[];
  outputs: JobEdge[];
  /** The vertex's output records carry event timestamps (a timestamp assigner upstream). */
  eventTime: boolean;
}

export interface JobGraph {
  vertices: JobVertex[];
  edges: JobEdge[];
  maxParallelism: number;
  /** Parallelism per stream node id. */
  parallelism: number[];
}

export interface JobGraphSettings {
  defaultParallelism: number;
  maxParallelism: number;
}

function resolveParallelism(node: StreamNode, settings: JobGraphSettings): number {
  const explicit = node.parallelism;
  let p = explicit ?? settings.defaultParallelism;
  if (node.parallelismCap !== undefined && p > node.parallelismCap) {
    if (explicit !== undefined) {
      throw new EddyError(
        'GRAPH_INVALID',
        `'${displayName(node)}' cannot run with parallelism ${explicit}; at most ${node.parallelismCap}`,
      );
    }
    p = node.parallelismCap;
  }
  if (p > settings.maxParallelism) {
    throw new EddyError(
      'GRAPH_INVALID',
      `'${displayName(node)}' has parallelism ${p}, more than max parallelism ${settings.maxParallelism}; raise --max-parallelism or lower --parallelism`,
    );
  }
  return p;
}

export function buildJobGraph(graph: StreamGraph, settings: JobGraphSettings): JobGraph {
  const par = graph.nodes.map((n) => resolveParallelism(n, settings));
  const partitionerOf = (from: number, to: number, requested: string): Partitioner => {
    if (requested === 'auto') return par[from] === par[to] ? 'forward' : 'rebalance';
    if (requested === 'forward' && par[from] !== par[to]) {
      throw new EddyError(
        'GRAPH_INVALID',
        `forward() from '${displayName(graph.nodes[from])}' (parallelism ${par[from]}) to '${displayName(graph.nodes[to])}' (parallelism ${par[to]}) needs equal parallelism; use rebalance()`,
      );
    }
    return requested as Partitioner;
  };

  // A node joins its producer's chain when it is that producer's only consumer, through a
  // forward edge, and has no other input.
  const vertexOf: number[] = new Array(graph.nodes.length).fill(-1);
  const vertices: JobVertex[] = [];
  for (const node of graph.nodes) {
    let chained = false;
    if (node.inputs.length === 1 && node.kind !== 'source' && !node.twoInput) {
      const e = node.inputs[0];
      const producer = graph.nodes[e.from];
      if (
        producer.outputs.length === 1 &&
        e.sideTag === undefined &&
        partitionerOf(e.from, e.to, e.partitioning) === 'forward' &&
        par[e.from] === par[node.id]
      ) {
        const v = vertices[vertexOf[e.from]];
        v.nodes.push(node);
        v.name += ` -> ${displayName(node)}`;
        vertexOf[node.id] = v.id;
        chained = true;
      }
    }
    if (!chained) {
      const v: JobVertex = {
        id: vertices.length,
        nodes: [node],
        parallelism: par[node.id],
        name: displayName(node),
        inputs: [],
        outputs: [],
        eventTime: false,
      };
      vertices.push(v);
      vertexOf[node.id] = v.id;
    }
  }

  const edges: JobEdge[] = [];
  for (const node of graph.nodes) {
    for (const e of node.inputs) {
      if (vertexOf[e.from] === vertexOf[e.to]) continue; // inside a chain
      const je: JobEdge = {
        id: edges.length,
        from: vertexOf[e.from],
        to: vertexOf[e.to],
        fromNode: e.from,
        toNode: e.to,
        partitioner: partitionerOf(e.from, e.to, e.partitioning),
        keySelector: e.keySelector,
        sideTag: e.sideTag,
        inputSide: e.inputSide,
      };
      edges.push(je);
      vertices[je.from].outputs.push(je);
      vertices[je.to].inputs.push(je);
    }
  }
  const eventTime = graph.eventTime();
  for (const v of vertices) v.eventTime = eventTime[v.nodes[v.nodes.length - 1].id];
  return { vertices, edges, maxParallelism: settings.maxParallelism, parallelism: par };
}

/** The producer subtasks that feed consumer subtask `j` through edge `e`. */
export function producersOf(g: JobGraph, e: JobEdge, j: number): number[] {
  if (e.partitioner === 'forward') return [j];
  const p = g.vertices[e.from].parallelism;
  return Array.from({ length: p }, (_, i) => i);
}

/** The consumer subtasks that producer subtask `i` writes to through edge `e`. */
export function consumersOf(g: JobGraph, e: JobEdge, i: number): number[] {
  if (e.partitioner === 'forward') return [i];
  const p = g.vertices[e.to].parallelism;
  return Array.from({ length: p }, (_, j) => j);
}

/** A stable description of the graph, to check that a worker rebuilt the same one. */
export function fingerprint(g: JobGraph): string {
  return g.vertices
    .map(
      (v) =>
        `${v.id}:${v.parallelism}:[${v.nodes.map((n) => `${n.kind}/${displayName(n)}`).join(',')}]<${v.inputs.map((e) => `${e.from}/${e.partitioner}${e.sideTag ? `/${e.sideTag}` : ''}`).join(',')}`,
    )
    .join('|');
}

/**
 * Why this graph's checkpoints must stay aligned even when unaligned ones are asked for, or
 * undefined. A broadcast edge: its consumers restore broadcast state from one old subtask,
 * which must have seen exactly the broadcast records every other one saw (Flink forces these
 * edges aligned for the same reason); eddy keeps the whole job aligned then.
 */
export function forcesAlignment(g: JobGraph): string | undefined {
  const e = g.edges.find((x) => x.partitioner === 'broadcast');
  return e === undefined ? undefined : `the edge into '${g.vertices[e.to].name}' is a broadcast`;
}
