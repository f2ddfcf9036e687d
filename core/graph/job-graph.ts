/**
 * Stream graph → job graph: resolves every operator's parallelism, turns 'auto' edges into
 * forward or rebalance, and chains operators joined by a forward edge of equal parallelism
 * into one vertex, so a record crosses a thread boundary only where the data must be
 * redistributed. One task runs per (vertex, subtask).
 *
 * A chain is a tree, as in Flink (StreamingJobGraphGenerator.isChainable): every chainable
 * consumer of an operator joins its chain, however many consumers it has, and the records go to
 * each of them by direct calls in the same thread; only the edges that cannot be chained leave
 * the task, from whichever operator of the chain they start at.
 */
import type { KeySelector } from '../contract/functions.js';
import { EddyError } from '../failure.js';
import { displayName, type StreamGraph, type StreamNode } from './stream-graph.js';

export type Partitioner = 'forward' | 'rebalance' | 'hash' | 'broadcast';

export interface JobEdge {
  id: number;
  from: number; // vertex id
  to: number; // vertex id
  /** The producing operator (any operator of `from`'s chain) and the consuming one (the head of `to`). */
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
  /** The chained operators in topological order (head first, every operator after its chained parent). */
  nodes: StreamNode[];
  /** Per entry of `nodes`: the index in `nodes` of the operator it is chained to (-1 for the head). */
  parents: number[];
  parallelism: number;
  name: string;
  inputs: JobEdge[];
  outputs: JobEdge[];
  /** Some of the vertex's output records carry event timestamps (a timestamp assigner upstream). */
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

  // A node joins its producer's chain when it is fed by that producer alone, through a forward
  // edge of equal parallelism on the main output, whatever else the producer feeds.
  const vertexOf: number[] = new Array(graph.nodes.length).fill(-1);
  const vertices: JobVertex[] = [];
  for (const node of graph.nodes) {
    const e = node.inputs[0];
    if (e !== undefined && chainable(graph, node, partitionerOf(e.from, e.to, e.partitioning), par)) {
      const v = vertices[vertexOf[e.from]];
      v.parents.push(v.nodes.findIndex((n) => n.id === e.from));
      v.nodes.push(node);
      vertexOf[node.id] = v.id;
      continue;
    }
    vertexOf[node.id] = vertices.length;
    vertices.push({
      id: vertices.length,
      nodes: [node],
      parents: [-1],
      parallelism: par[node.id],
      name: '',
      inputs: [],
      outputs: [],
      eventTime: false,
    });
  }
  for (const v of vertices) v.name = chainName(v, 0);

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
  for (const v of vertices) v.eventTime = v.outputs.some((e) => eventTime[e.fromNode]);
  return { vertices, edges, maxParallelism: settings.maxParallelism, parallelism: par };
}

/**
 * Whether `node` joins the chain of its one producer (Flink's isChainable, less what eddy has
 * no notion of: slot sharing groups, chaining strategies, batch exchanges). A side-output edge
 * stays a ring. An operator that changes its input record in place (`mutatesInput`) is chained
 * only as its producer's one consumer: chained siblings, and the batches of the producer's
 * outputs, hold the same object.
 */
function chainable(graph: StreamGraph, node: StreamNode, partitioner: Partitioner, par: number[]): boolean {
  if (node.inputs.length !== 1 || node.kind === 'source' || node.twoInput) return false;
  const e = node.inputs[0];
  if (e.sideTag !== undefined || partitioner !== 'forward' || par[e.from] !== par[node.id]) return false;
  return node.mutatesInput !== true || graph.nodes[e.from].outputs.length === 1;
}

/** Flink's chain name: `a -> b` along one child, `a -> (b, c)` where the chain forks. */
function chainName(v: JobVertex, i: number): string {
  const kids: string[] = [];
  for (let k = i + 1; k < v.nodes.length; k++) if (v.parents[k] === i) kids.push(chainName(v, k));
  const own = displayName(v.nodes[i]);
  return kids.length === 0 ? own : kids.length === 1 ? `${own} -> ${kids[0]}` : `${own} -> (${kids.join(', ')})`;
}

/**
 * The operators whose records leave the vertex (those with outgoing edges: one, or several in
 * a chain that forks), or its last one when none do (a sink's vertex): a vertex's records out,
 * bytes out and output watermark are theirs.
 */
export function exitNodes(v: JobVertex): StreamNode[] {
  const exits = v.nodes.filter((n) => v.outputs.some((e) => e.fromNode === n.id));
  return exits.length > 0 ? exits : [v.nodes[v.nodes.length - 1]];
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
        `${v.id}:${v.parallelism}:[${v.nodes.map((n, i) => `${n.kind}/${displayName(n)}^${v.parents[i]}`).join(',')}]<${v.inputs.map((e) => `${e.from}/${e.partitioner}${e.sideTag ? `/${e.sideTag}` : ''}`).join(',')}`,
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
