/**
 * Whether, and how, the in-flight data of an unaligned checkpoint restores into the job as it
 * is now (Flink's InflightDataRescalingDescriptor), decided on the main thread before any
 * task starts. Per edge the checkpoint knows (every input and output edge of a task that
 * stored in-flight data):
 *
 *   same        both ends at their old parallelism, same partitioner: each channel's data
 *               goes back to the same channel (consumer: input replay; producer: output)
 *   hash        re-dealt by key group to the new consumer subtasks (channel-redistribution.ts)
 *   rebalance   re-dealt round robin to the new consumer subtasks (a forward edge that became
 *               a rebalance because one end changed parallelism too: its records had no owner
 *               but their channel, and the job now sends such records round robin)
 *
 * Refused, when the edge holds stored data (one line: the edge, its consumer operator, and
 * what to do; a savepoint is always aligned, so it holds no in-flight data and rescales):
 *   - a forward edge whose ends changed parallelism: its records belong to the subtask
 *     beside their producer, and that pairing does not survive a rescale (Flink does not
 *     take in-flight data on such pointwise edges at all, FLINK-21945);
 *   - a broadcast edge: every consumer must see the same records (eddy keeps jobs with one
 *     aligned, so only a foreign or damaged checkpoint gets here);
 *   - an edge, or a task, that is no longer there as it was (operators chained differently).
 */
import type { ChannelEdgeInfo, ChannelStateHandle } from '../checkpoint/metadata.js';
import { EddyError } from '../failure.js';
import type { JobEdge, JobGraph } from '../graph/job-graph.js';
import { displayName, type StreamNode } from '../graph/stream-graph.js';
import type { RestoredChannelEdge } from './messages.js';

const SAVEPOINT_ADVICE =
  'restore it at the parallelism that took it, take a savepoint (always aligned, so it holds no in-flight data) and rescale from that';

/**
 * The plan for the in-flight data `handles` of checkpoint `where` (e.g. "checkpoint 4 in
 * DIR"), or undefined for a checkpoint that does not describe its edges (taken by an eddy
 * that restored it only as it was: allowed then only at the same parallelism).
 */
export function planInFlightRestore(where: string, handles: ChannelStateHandle[], g: JobGraph): RestoredChannelEdge[] | undefined {
  const refuse = (what: string, uid?: string) =>
    new EddyError('STATE_NOT_RESTORED', `${where} holds in-flight data ${what}; ${SAVEPOINT_ADVICE}`, { operatorUid: uid });
  for (const h of handles) {
    const v = g.vertices.filter((x) => x.name === h.vertex);
    if (v.length !== 1)
      throw refuse(`of '${h.vertex}' (an unaligned checkpoint), a task this job does not have (operators chained differently, or gone)`);
    if (h.edges === undefined && v[0].parallelism !== h.parallelism) {
      throw refuse(
        `of '${h.vertex}' at parallelism ${h.parallelism} (an unaligned checkpoint) without the edge descriptions a rescale needs; the job runs it at parallelism ${v[0].parallelism}`,
      );
    }
  }
  if (handles.some((h) => h.edges === undefined)) return undefined;

  const edges = new Map<number, ChannelEdgeInfo>();
  for (const h of handles) {
    for (const e of h.edges!) {
      const known = edges.get(e.id);
      edges.set(e.id, known ? { ...known, bytes: known.bytes + e.bytes } : e);
    }
  }
  const nodes = new Map<number, StreamNode>(g.vertices.flatMap((v) => v.nodes.map((n) => [n.id, n] as const)));
  const plan: RestoredChannelEdge[] = [];
  for (const info of edges.values()) {
    const name = (id: number, vertex: string) => {
      const n = nodes.get(id);
      return n ? displayName(n) : vertex;
    };
    const from = name(info.fromNode, info.from);
    const consumer = name(info.toNode, info.to);
    const edgeName = `'${from}' -> '${consumer}'`;
    const e = findEdge(g, info);
    const producers = e ? g.vertices[e.from].parallelism : 0;
    const consumers = e ? g.vertices[e.to].parallelism : 0;
    const was = `at parallelism ${info.producers} -> ${info.consumers}, the job runs ${producers} -> ${consumers}`;
    let mode: RestoredChannelEdge['mode'] | undefined;
    let refusal: string | undefined;
    if (e === undefined)
      refusal = `on the edge ${edgeName}, which this job no longer has between those tasks (operators chained differently)`;
    else if (info.partitioner === e.partitioner && info.producers === producers && info.consumers === consumers) mode = 'same';
    else if (e.partitioner === 'broadcast' || info.partitioner === 'broadcast')
      refusal = `on the broadcast edge ${edgeName} (${was}): every consumer must see the same records`;
    else if (e.partitioner === 'hash') mode = 'hash';
    else if (e.partitioner === 'rebalance') mode = 'rebalance';
    else
      refusal = `on the forward edge ${edgeName} (${was}): a forward edge's records belong to the subtask beside their producer, which a rescale does not keep`;
    if (refusal !== undefined && info.bytes > 0) throw refuse(refusal, consumer);
    // An edge without stored data that cannot take any is simply not restored into.
    if (e !== undefined && mode !== undefined) plan.push({ stored: info.id, edge: e.id, mode, from: info.from, to: info.to });
  }
  return plan.sort((a, b) => a.edge - b.edge);
}

/** How a task taking an unaligned checkpoint describes edge `e` of its graph `g`, with the `bytes` it stored on it. */
export function describeEdge(g: JobGraph, e: JobEdge, bytes: number): ChannelEdgeInfo {
  return {
    id: e.id,
    fromNode: e.fromNode,
    toNode: e.toNode,
    ...(e.sideTag !== undefined ? { sideTag: e.sideTag } : {}),
    ...(e.inputSide !== undefined ? { inputSide: e.inputSide } : {}),
    from: g.vertices[e.from].name,
    to: g.vertices[e.to].name,
    producers: g.vertices[e.from].parallelism,
    consumers: g.vertices[e.to].parallelism,
    partitioner: e.partitioner,
    bytes,
  };
}

/** The edge of `g` that is `info` (same operators, side output and input side), between the same tasks. */
function findEdge(g: JobGraph, info: ChannelEdgeInfo): JobEdge | undefined {
  const found = g.edges.filter(
    (e) => e.fromNode === info.fromNode && e.toNode === info.toNode && e.sideTag === info.sideTag && e.inputSide === info.inputSide,
  );
  // The same two operators joined twice (a stream unioned with itself) cannot be told apart.
  if (found.length !== 1) return undefined;
  const e = found[0];
  return g.vertices[e.from].name === info.from && g.vertices[e.to].name === info.to ? e : undefined;
}
