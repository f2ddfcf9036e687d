/**
 * Before a task starts: its share of the in-flight data of an unaligned checkpoint, as the
 * main thread planned it edge by edge (core/runtime/in-flight-rescale.ts).
 *
 *   - Edges restored as they were ('same'): the task's own file gives each input channel its
 *     stored frames to replay and each output channel its stored frames to send first.
 *   - Edges re-dealt ('hash', 'rebalance') into this task: it reads the files of every old
 *     subtask at both ends of the edge and replays the records it owns now
 *     (core/checkpoint/channel-redistribution.ts), on the edge's first channel. The input
 *     gate replays all stored frames before it reads any ring (input-gate.ts), so stored
 *     records still come before new input, whichever new channel brings that.
 *
 * The watermark valve: restored as it was when the task's inputs are the same channels as
 * then; otherwise (a rescale) from the lowest watermark of the old subtasks whose state this
 * one continues (rescaledValve, core/time/watermark-valve.ts).
 */
import type { CheckpointStorage } from '../core/checkpoint/storage.js';
import type { ChannelStateHandle } from '../core/checkpoint/metadata.js';
import { decodeChannelState, type TaskChannelState } from '../core/checkpoint/channel-state.js';
import { byKeyGroup, redistribute, roundRobin, storedChannels } from '../core/checkpoint/channel-redistribution.js';
import { EddyError } from '../core/failure.js';
import type { RestoredChannelEdge, RestoreSpec } from '../core/runtime/messages.js';
import { rescaledValve, type ValveState } from '../core/time/watermark-valve.js';
import type { StreamTask } from './task.js';

export async function restoreInFlight(task: StreamTask, r: RestoreSpec, storage: CheckpointStorage): Promise<ValveState | undefined> {
  const handles = r.channels ?? [];
  if (handles.length === 0) return undefined;
  const v = task.vertex;
  const subtask = task.spec.subtask;
  const decoded = new Map<ChannelStateHandle, Promise<TaskChannelState>>();
  const read = (h: ChannelStateHandle): Promise<TaskChannelState> => {
    let s = decoded.get(h);
    if (s === undefined) decoded.set(h, (s = storage.readStateFile(h.file).then((bytes) => decodeChannelState(bytes, h.file.file))));
    return s;
  };
  // Without a plan (a checkpoint that does not describe its edges) every edge is as it was.
  const plan = r.channelEdges;
  const byStored = (id: number): RestoredChannelEdge | undefined =>
    plan ? plan.find((e) => e.stored === id) : { stored: id, edge: id, mode: 'same', from: '', to: '' };

  const own = handles.find((h) => h.vertex === v.name && h.subtask === subtask && h.parallelism === v.parallelism);
  const ownState = own ? await read(own) : undefined;
  if (own && ownState) restoreOwn(task, own, ownState, byStored);

  for (const e of plan ?? []) {
    const edge = v.inputs.find((x) => x.id === e.edge);
    if (e.mode === 'same' || edge === undefined) continue;
    const side = (name: string) =>
      Promise.all(handles.filter((h) => h.vertex === name).map(async (h) => ({ subtask: h.subtask, state: await read(h) })));
    const channels = storedChannels(e.stored, await side(e.to), await side(e.from));
    if (channels.length === 0) continue;
    const route =
      e.mode === 'hash' ? byKeyGroup(edge.keySelector!, task.plan.settings.maxParallelism, v.parallelism) : roundRobin(v.parallelism);
    task.input!.replay(
      task.spec.inputs.findIndex((s) => s.edge === e.edge),
      redistribute(channels, route, subtask),
    );
  }

  if (!task.input) return undefined;
  const channelCount = task.input.channels.length;
  const asBefore = v.inputs.every((x) => (plan ? plan.some((e) => e.edge === x.id && e.mode === 'same') : true));
  if (asBefore && ownState?.valve && ownState.valve.wm.length === channelCount) return ownState.valve;
  return conservativeValve(task, handles, read, channelCount);
}

/** The task's own stored frames on the edges restored as they were, matched by (edge, peer). */
function restoreOwn(
  task: StreamTask,
  h: ChannelStateHandle,
  state: TaskChannelState,
  byStored: (id: number) => RestoredChannelEdge | undefined,
): void {
  const subtask = task.spec.subtask;
  const mismatch = (what: string) =>
    new EddyError(
      'STATE_NOT_RESTORED',
      `in-flight data ${h.file.file} of '${h.vertex}' subtask ${subtask} does not fit the job: ${what}; restore it with the job and parallelism that took it`,
    );
  for (const c of state.inputs) {
    const e = byStored(c.edge);
    if (e?.mode !== 'same') {
      if (e === undefined) throw mismatch(`no plan for its input edge ${c.edge}`);
      continue;
    }
    const i = task.spec.inputs.findIndex((s) => s.edge === e.edge && s.producerSubtask === c.peer);
    if (i < 0) throw mismatch(`no input channel from edge ${c.edge} subtask ${c.peer}`);
    task.input!.replay(i, c.frames);
  }
  const outputs = task.output?.channels ?? [];
  for (const c of state.outputs) {
    const e = byStored(c.edge);
    if (e?.mode !== 'same') {
      if (e === undefined) throw mismatch(`no plan for its output edge ${c.edge}`);
      continue; // re-dealt by the consumers
    }
    const ch = outputs.find((o) => o.edge === e.edge && o.consumer === c.peer);
    if (ch === undefined) throw mismatch(`no output channel to edge ${c.edge} subtask ${c.peer}`);
    ch.restorePending(c.frames);
  }
}

/**
 * The valve of a task whose input channels changed: from the old subtasks it continues
 * (itself at the same parallelism, all of them after a rescale), see rescaledValve.
 */
async function conservativeValve(
  task: StreamTask,
  handles: ChannelStateHandle[],
  read: (h: ChannelStateHandle) => Promise<TaskChannelState>,
  channels: number,
): Promise<ValveState | undefined> {
  const v = task.vertex;
  const mine = handles.filter((h) => h.vertex === v.name);
  if (mine.length === 0) return undefined;
  const oldParallelism = mine[0].parallelism;
  const same = oldParallelism === v.parallelism;
  // A subtask that stored no in-flight data wrote no file: its valve is unknown.
  const continued = Array.from({ length: same ? 1 : oldParallelism }, (_, k) =>
    mine.find((h) => h.subtask === (same ? task.spec.subtask : k)),
  );
  return rescaledValve(await Promise.all(continued.map(async (h) => (h ? (await read(h)).valve : undefined))), channels);
}
