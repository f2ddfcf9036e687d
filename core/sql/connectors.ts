/**
 * The `'connector'` option of CREATE TABLE mapped onto eddy's sources and sinks: filesystem
 * (json, csv), nexmark, datagen, print, blackhole. Options are checked here, each unknown or
 * missing one named with its line and column.
 */
import { Sinks, Sources } from '../connectors/index.js';
import type { Sink, Source } from '../connectors/types.js';
import type { TableDef } from './catalog.js';
import { sqlError, sqlUnsupported, type Pos } from './errors.js';
import type { Row } from './expressions.js';
import { coerce, type SqlType } from './types.js';
import { postgresUpsertSink, upsertJsonLinesFile } from './runtime/index.js';

/** A table's source: what it reads, and how a raw record becomes a row of its physical columns. */
export interface TableSource {
  source: Source<unknown>;
  /** Raw record → row (types coerced); undefined when the records are rows already (nexmark). */
  toRow?: (raw: unknown) => Row;
}

const SOURCES = ['filesystem', 'nexmark', 'datagen'];
const SINKS = ['filesystem', 'print', 'blackhole', 'postgres', 'redis', 'jetstream', 'collect'];

function opt(t: TableDef, key: string): string | undefined {
  return t.options[key];
}
function need(t: TableDef, key: string, example: string): string {
  const v = t.options[key];
  if (v === undefined) throw sqlError(t.stmt.pos, `table '${t.name}' needs the option '${key}' (e.g. '${key}' = '${example}')`);
  return v;
}
function num(t: TableDef, key: string, fallback?: number): number | undefined {
  const v = t.options[key];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n))
    throw sqlError(t.stmt.optionPos[key], `option '${key}' of table '${t.name}' must be a number, got '${v}'`);
  return n;
}
function connector(t: TableDef): string {
  return need(t, 'connector', 'filesystem').toLowerCase();
}
function checkKeys(t: TableDef, allowed: (k: string) => boolean): void {
  for (const k of Object.keys(t.options)) {
    if (!allowed(k))
      throw sqlError(t.stmt.optionPos[k], `unknown option '${k}' for connector '${t.options.connector}' of table '${t.name}'`);
  }
}

/** The physical columns' coercion: raw JSON / CSV values → the declared types. */
function rowMaker(t: TableDef): (raw: unknown) => Row {
  const cols = t.columns.filter((c) => c.computed === undefined).map((c) => [c.name, c.type] as [string, SqlType]);
  return (raw) => {
    const src = (raw ?? {}) as Row;
    const out: Row = {};
    for (const [name, type] of cols) out[name] = coerce(src[name], type);
    return out;
  };
}

/** The source of `t` (when used in FROM). */
export function tableSource(t: TableDef, pos: Pos): TableSource {
  const kind = connector(t);
  switch (kind) {
    case 'filesystem': {
      checkKeys(
        t,
        (k) =>
          ['connector', 'path', 'format', 'csv.field-delimiter', 'csv.ignore-first-line', 'source.monitor-interval'].includes(k) ||
          k.startsWith('sink.'),
      );
      const path = need(t, 'path', '/data/input.jsonl').replace(/^file:\/\//, '');
      const format = need(t, 'format', 'json');
      if (format === 'json') return { source: Sources.jsonLines(path) as Source<unknown>, toRow: rowMaker(t) };
      if (format === 'csv') {
        const names = t.columns.filter((c) => c.computed === undefined).map((c) => c.name);
        const separator = opt(t, 'csv.field-delimiter') ?? ',';
        return {
          source: Sources.csv(path, { columns: names, separator, header: opt(t, 'csv.ignore-first-line') === 'true' }) as Source<unknown>,
          toRow: rowMaker(t),
        };
      }
      throw sqlError(t.stmt.optionPos.format, `format '${format}' of table '${t.name}' is not known (expected 'json' or 'csv')`);
    }
    case 'nexmark': {
      checkKeys(t, (k) =>
        [
          'connector',
          'events.num',
          'first-event.rate',
          'next-event.rate',
          'person.proportion',
          'auction.proportion',
          'bid.proportion',
          'emit.rate',
          'base-time',
          'max-emit-speed',
          'keep-alive',
          'stop-at',
        ].includes(k),
      );
      const events = num(t, 'events.num');
      if (events === undefined)
        throw sqlError(t.stmt.pos, `table '${t.name}' needs the option 'events.num' (eddy's nexmark generator is bounded)`);
      const source = Sources.nexmark({
        events,
        rate: num(t, 'next-event.rate') ?? num(t, 'first-event.rate'),
        emitRate: num(t, 'emit.rate'),
        baseTime: num(t, 'base-time'),
        personProportion: num(t, 'person.proportion'),
        auctionProportion: num(t, 'auction.proportion'),
        bidProportion: num(t, 'bid.proportion'),
      });
      return { source: source as Source<unknown> };
    }
    case 'datagen':
      return { source: datagen(t), toRow: undefined };
    default:
      if (SINKS.includes(kind)) throw sqlError(pos, `table '${t.name}' (connector '${kind}') is a sink only; it cannot be read in FROM`);
      throw unknownConnector(t, kind, SOURCES);
  }
}

function unknownConnector(t: TableDef, kind: string, known: string[]): Error {
  if (['kafka', 'upsert-kafka', 'jdbc', 'elasticsearch', 'hbase', 'kinesis', 'postgres', 'redis', 'jetstream'].includes(kind)) {
    // postgres, redis and jetstream are sinks here; reading them in FROM is not wired yet.
    return sqlUnsupported(t.stmt.optionPos.connector, `the connector '${kind}' in SQL tables`);
  }
  return sqlError(t.stmt.optionPos.connector, `unknown connector '${kind}' for table '${t.name}' (expected one of ${known.join(', ')})`);
}

/** Deterministic pseudo-random value of row `i`, column `c` (same on every run and restore). */
function hash(i: number, c: number): number {
  let h = Math.imul(i ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(c + 1, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  return (h >>> 0) / 4294967296;
}

/** Flink's datagen connector: 'number-of-rows', 'rows-per-second', per column 'fields.C.kind' sequence|random with start/end, min/max, length. */
function datagen(t: TableDef): Source<unknown> {
  checkKeys(
    t,
    (k) => ['connector', 'number-of-rows', 'rows-per-second'].includes(k) || /^fields\.[^.]+\.(kind|start|end|min|max|length)$/.test(k),
  );
  const rows = num(t, 'number-of-rows');
  const rate = num(t, 'rows-per-second');
  const gens = t.columns
    .filter((c) => c.computed === undefined)
    .map((c, ci) => {
      const p = `fields.${c.name}.`;
      const kind = opt(t, `${p}kind`) ?? 'random';
      if (kind === 'sequence') {
        const start = num(t, `${p}start`, 0)!;
        const end = num(t, `${p}end`);
        if (end !== undefined && rows === undefined) return { name: c.name, fn: (i: number) => start + i, limit: end - start + 1 };
        return { name: c.name, fn: (i: number) => start + i, limit: undefined };
      }
      if (kind !== 'random') throw sqlError(t.stmt.optionPos[`${p}kind`], `'${p}kind' must be 'sequence' or 'random', got '${kind}'`);
      const min = num(t, `${p}min`, 0)!;
      const max = num(t, `${p}max`, c.type.name === 'INT' ? 2_147_483_647 : 1_000_000)!;
      const len = num(t, `${p}length`, 10)!;
      switch (c.type.name) {
        case 'BIGINT':
        case 'INT':
          return { name: c.name, fn: (i: number) => min + Math.floor(hash(i, ci) * (max - min + 1)), limit: undefined };
        case 'DOUBLE':
        case 'DECIMAL':
          return { name: c.name, fn: (i: number) => min + hash(i, ci) * (max - min), limit: undefined };
        case 'BOOLEAN':
          return { name: c.name, fn: (i: number) => hash(i, ci) < 0.5, limit: undefined };
        case 'VARCHAR':
          return {
            name: c.name,
            fn: (i: number) =>
              Array.from({ length: len }, (_, j) => 'abcdefghijklmnopqrstuvwxyz'[Math.floor(hash(i * 131 + j, ci) * 26)]).join(''),
            limit: undefined,
          };
        case 'TIMESTAMP':
          return { name: c.name, fn: (i: number) => Date.UTC(2015, 6, 15) + i, limit: undefined };
        default:
          throw sqlUnsupported(c.computed?.pos ?? t.stmt.pos, `datagen for a ${c.type.name} column`);
      }
    });
  const limits = gens.map((g) => g.limit).filter((l): l is number => l !== undefined);
  const count = rows ?? (limits.length > 0 ? Math.min(...limits) : undefined);
  const src = Sources.generator<Row>({
    count,
    rate,
    fn: (i) => {
      const row: Row = {};
      for (const g of gens) row[g.name] = g.fn(i);
      return row;
    },
  });
  return src as Source<unknown>;
}

/** Flink's print format: `+I[v1, v2]`; timestamps as 'yyyy-MM-dd HH:mm:ss.SSS'. */
export function printFormat(kind: string, row: Row, columns: readonly string[], types: readonly SqlType[]): string {
  const vs = columns.map((c, i) => {
    const v = row[c];
    if (v === null || v === undefined) return 'NULL';
    if (types[i]!.name === 'TIMESTAMP') return new Date(v as number).toISOString().replace('T', ' ').replace('Z', '');
    return typeof v === 'object' ? JSON.stringify(v) : String(v);
  });
  return `${kind}[${vs.join(', ')}]`;
}

/** What a sink takes: only appends, or a changelog (print) / upserts by primary key. */
export interface TableSink {
  sink: Sink<unknown>;
  /** 'append': inserts only; 'changelog': every row kind (print shows it); 'upsert': by primary key. */
  accepts: 'append' | 'changelog' | 'upsert';
  /** The value the sink writes for a row of kind `kind` (print formats it). */
  format?: (kind: string, row: Row) => unknown;
}

/** The sink of `t` (when it is the target of INSERT INTO). */
export function tableSink(t: TableDef): TableSink {
  const kind = connector(t);
  const names = t.columns.map((c) => c.name);
  const types = t.columns.map((c) => c.type);
  switch (kind) {
    case 'filesystem': {
      checkKeys(t, (k) => ['connector', 'path', 'format'].includes(k) || k.startsWith('sink.') || k.startsWith('partition.'));
      const path = need(t, 'path', '/data/output').replace(/^file:\/\//, '');
      const format = need(t, 'format', 'json');
      if (format !== 'json')
        throw sqlUnsupported(
          t.stmt.optionPos.format,
          `format '${format}' for a filesystem sink (eddy writes JSON lines: 'format' = 'json')`,
        );
      // With a primary key the table is an upsert sink: JSON lines of +I/+U/-D by key (sqlchange's).
      if (t.primaryKey) return { sink: upsertJsonLinesFile(path, { key: t.primaryKey }) as Sink<unknown>, accepts: 'upsert' };
      return { sink: Sinks.jsonLinesFile(path) as Sink<unknown>, accepts: 'append' };
    }
    case 'print':
      checkKeys(t, (k) => ['connector', 'print-identifier', 'standard-error'].includes(k));
      return { sink: Sinks.print() as Sink<unknown>, accepts: 'changelog', format: (k, row) => printFormat(k, row, names, types) };
    case 'postgres': {
      checkKeys(t, (k) => ['connector', 'url', 'table-name', 'sink.mode'].includes(k));
      const connectionString = need(t, 'url', 'postgresql://user@127.0.0.1:5432/db');
      const table = need(t, 'table-name', t.name);
      if (t.primaryKey)
        return {
          sink: postgresUpsertSink({ connectionString, table, columns: names, key: t.primaryKey }) as Sink<unknown>,
          accepts: 'upsert',
        };
      const mode = opt(t, 'sink.mode') ?? 'exactly-once';
      if (mode !== 'exactly-once' && mode !== 'at-least-once')
        throw sqlError(t.stmt.optionPos['sink.mode'], `'sink.mode' must be 'exactly-once' or 'at-least-once', got '${mode}'`);
      return { sink: Sinks.postgres<Row>({ connectionString, table, columns: names, mode }) as Sink<unknown>, accepts: 'append' };
    }
    case 'redis':
    case 'jetstream': {
      // One stream entry / message per row (fields are the columns; NULL omitted), exactly-once by default.
      checkKeys(t, (k) => ['connector', 'url', kind === 'redis' ? 'stream' : 'subject', 'sink.mode'].includes(k));
      const url = need(t, 'url', kind === 'redis' ? 'redis://127.0.0.1:6379' : 'nats://127.0.0.1:4222');
      const mode = opt(t, 'sink.mode') ?? 'exactly-once';
      if (mode !== 'exactly-once' && mode !== 'at-least-once')
        throw sqlError(t.stmt.optionPos['sink.mode'], `'sink.mode' must be 'exactly-once' or 'at-least-once', got '${mode}'`);
      const fields = (row: Row): Record<string, string | number | boolean> => {
        const o: Record<string, string | number | boolean> = {};
        for (const n of names) {
          const v = row[n];
          if (v !== null && v !== undefined) o[n] = typeof v === 'object' ? JSON.stringify(v) : (v as string | number | boolean);
        }
        return o;
      };
      if (kind === 'redis')
        return {
          sink: Sinks.redisStream<Row>({ url, stream: need(t, 'stream', t.name), mode, fields }) as Sink<unknown>,
          accepts: 'append',
        };
      return {
        sink: Sinks.jetstream<Row>({
          url,
          subject: need(t, 'subject', t.name),
          mode,
          data: (row) => JSON.stringify(fields(row)),
        }) as Sink<unknown>,
        accepts: 'append',
      };
    }
    case 'blackhole':
      checkKeys(t, (k) => k === 'connector');
      return { sink: Sinks.discard() as Sink<unknown>, accepts: 'changelog' };
    case 'collect':
      // Into JobResult.collected (runJob's caller): rows of an append-only query, ChangeRows of an updating one.
      checkKeys(t, (k) => k === 'connector');
      return { sink: Sinks.collect() as Sink<unknown>, accepts: 'changelog' };
    default:
      if (SOURCES.includes(kind))
        throw sqlError(
          t.stmt.pos,
          `table '${t.name}' (connector '${kind}') is a source only; INSERT INTO needs a sink table (filesystem, print, blackhole)`,
        );
      throw unknownConnector(t, kind, SINKS);
  }
}
