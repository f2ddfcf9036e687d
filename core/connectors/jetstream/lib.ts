/** nats.js's JetStream and KV packages, loaded on first use (see ../lazy-module.ts). */
import type * as JetStreamLib from '@nats-io/jetstream';
import type * as KvLib from '@nats-io/kv';
import { lazyModule } from '../lazy-module.js';

export const jetstreamLib = lazyModule<typeof JetStreamLib>('@nats-io/jetstream');
export const kvLib = lazyModule<typeof KvLib>('@nats-io/kv');
