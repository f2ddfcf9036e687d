/**
 * The keyed stage of an updating SQL operator (group aggregate, Top-N): `update` applies a list
 * of one key's changes (or rows, for an append-only Top-N) with one state read and write. With
 * mini-batch each key's inputs of a bundle come as one list (../../operators/keyed-bundle.ts);
 * without, every input is a list of one. Both forms keep the same keyed state, so a savepoint
 * restores with mini-batch on or off.
 */
import type { KeyedStream, SingleOutputStreamOperator } from '../../api/datastream.js';
import type { Collector, RuntimeContext } from '../../contract/functions.js';
import { keyedBundleOperator, listBundle, type BundleTrigger } from '../../operators/keyed-bundle.js';
import type { ChangeRow } from './changelog.js';

/** Applies one key's inputs (changes, or the rows of an append-only input) in arrival order. */
export type KeyUpdate<I = ChangeRow> = (inputs: I[], ctx: RuntimeContext, out: Collector<ChangeRow>) => void;

export function applyByKey<I, K>(
  keyed: KeyedStream<I, K>,
  update: KeyUpdate<I>,
  opts: {
    uid: string;
    name: string;
    miniBatch?: BundleTrigger;
    /**
     * How an input joins its key's list in a bundle; default: appended. An operator may drop
     * inputs the list already makes irrelevant, when `update` gives the same result without them.
     */
    addInput?: (list: I[] | undefined, input: I) => I[];
  },
): SingleOutputStreamOperator<ChangeRow> {
  if (opts.miniBatch !== undefined) {
    const bundle = opts.addInput === undefined ? listBundle(update) : { addInput: opts.addInput, finishKey: update };
    return keyed
      .addOperator<ChangeRow>('bundle', keyedBundleOperator(bundle, opts.miniBatch), true)
      .uid(opts.uid)
      .name(`${opts.name} mini-batch`);
  }
  const one: I[] = [];
  return keyed
    .process<ChangeRow>((change: I, ctx: RuntimeContext, out: Collector<ChangeRow>) => {
      one[0] = change;
      update(one, ctx, out);
    })
    .uid(opts.uid)
    .name(opts.name);
}
