/**
 * Runs SQL statements against a StreamExecutionEnvironment: DDL fills the catalog, INSERT
 * INTO and SELECT add pipelines to the job's graph, EXPLAIN describes a statement's plan.
 * The same text builds the same graph with the same uids in every thread.
 */
import { StreamExecutionEnvironment } from '../api/environment.js';
import type { DataStream } from '../api/datastream.js';
import type { Expr, Query, Statement } from './ast.js';
import { Catalog, type Column, type TableDef } from './catalog.js';
import { tableSink } from './connectors.js';
import { createFunction } from './functions.js';
import { sinkCasts } from './decimal.js';
import { sqlError, sqlUnsupported, type Pos } from './errors.js';
import { compile, type Row } from './expressions.js';
import { parseOnce } from './parse-once.js';
import { parseStatements } from './parser.js';
import { planFrom, planQuery } from './planner.js';
import { runWhenPlanned, type PlanContext } from './plan-steps.js';
import { settled } from './calc.js';
import type { AnyStream, Rel } from './relation.js';
import { sinkChangelog, type ChangeRow, type UpsertSink } from './runtime/index.js';
import { applySetting, initialSettings, miniBatchTrigger, type SqlSettings } from './settings.js';
import { comparable, resolveType, typeName } from './types.js';
import { UidNamer, uidPart, type PlanNode } from './uids.js';

/** What one statement did: DDL, a pipeline added (INSERT / SELECT), or a plan (EXPLAIN). */
export type StatementResult =
  | { kind: 'ddl'; what: string }
  | { kind: 'pipeline'; target: string; uids: string[] }
  | { kind: 'explain'; plan: string }
  | { kind: 'set'; key: string; value: string };

/** The statements of a script, run in order against one environment and one catalog. */
export class SqlSession {
  /** The tables and views created so far. */
  readonly catalog = new Catalog();
  private readonly prefixes = new Set<string>();
  private selects = 0;
  /** TTL and mini-batch: the configuration file's and --arg values, then the script's SETs. */
  private readonly settings: SqlSettings;

  /** `baseDir`: where CREATE FUNCTION's module paths are resolved from (the SQL file's folder). */
  constructor(
    private readonly env: StreamExecutionEnvironment,
    private baseDir = process.cwd(),
  ) {
    this.settings = initialSettings(env);
  }

  /** Runs every statement of `text`; returns what each did. */
  execute(text: string, baseDir?: string): StatementResult[] {
    if (baseDir !== undefined) this.baseDir = baseDir;
    return parseOnce(this.env, 'statements', text, parseStatements).map((s) => this.statement(s));
  }

  /** Plans `q` into the environment and returns its relation (for env.sqlQuery). */
  query(q: Query, name: string): Rel {
    return planQuery(q, this.context(this.prefix(name), q.pos));
  }

  private statement(s: Statement): StatementResult {
    switch (s.k) {
      case 'createTable':
        this.catalog.addTable(tableDef(s), s.pos);
        return { kind: 'ddl', what: `table ${s.name}` };
      case 'createView': {
        // Planned once into a scratch graph so that a wrong view fails here, at its own line; a
        // worker's build repeats one the main thread checked, so it does not plan it twice.
        if (this.env.replayOf === undefined) planQuery(s.q, scratchContext(this.catalog));
        this.catalog.addView({ name: s.name, q: s.q }, s.pos);
        return { kind: 'ddl', what: `view ${s.name}` };
      }
      case 'createFunction':
        createFunction(s.name, s.module, s.language, this.baseDir, s.pos);
        return { kind: 'ddl', what: `function ${s.name}` };
      case 'insert':
        return this.insert(s, this.context(this.prefix(s.table), s.pos));
      case 'select':
        return this.select(s.q, this.context(this.prefix(`select-${++this.selects}`), s.pos));
      case 'explain':
        return { kind: 'explain', plan: this.explain(s.stmt) };
      case 'set':
        this.set(s.key, s.value, s);
        return { kind: 'set', key: s.key, value: s.value };
    }
  }

  private set(key: string, value: string, s: Statement): void {
    applySetting(this.settings, this.env, key, value, (m, unsupported) => (unsupported ? sqlUnsupported(s.pos, m) : sqlError(s.pos, m)));
  }

  private explain(s: Statement): string {
    if (s.k !== 'insert' && s.k !== 'select') throw sqlUnsupported(s.pos, 'EXPLAIN of a statement other than INSERT INTO or SELECT');
    // Planned into a scratch environment: EXPLAIN adds nothing to the job. The prefix is the one
    // the statement would get, so the uids shown are the uids it runs with.
    const name = s.k === 'insert' ? s.table : `select-${this.selects + 1}`;
    const ctx = { ...scratchContext(this.catalog, uidPrefix(name, this.prefixes)), ...this.planSettings(s.pos) };
    if (s.k === 'insert') this.insert(s, ctx);
    else this.select(s.q, ctx);
    return formatPlan(ctx.uids.nodes);
  }

  private insert(s: Statement & { k: 'insert' }, ctx: PlanContext): StatementResult {
    const table = this.catalog.table(s.table, s.pos);
    const columns = table.columns.filter((c) => !c.computed);
    const rel = settled(planQuery(namedAsSink(s.q, columns), ctx));
    if (rel.fields.length !== columns.length) {
      throw sqlError(
        s.q.pos,
        `the query has ${rel.fields.length} columns but table '${table.name}' has ${columns.length} (${columns.map((c) => c.name).join(', ')})`,
      );
    }
    rel.fields.forEach((f, i) => {
      const c = columns[i]!;
      if (!comparable(f.type, c.type) && !(c.type.name === 'VARCHAR')) {
        throw sqlError(
          s.q.pos,
          `column ${i + 1} of the query ('${f.name}', ${typeName(f.type)}) does not fit column '${c.name}' (${typeName(c.type)}) of table '${table.name}'`,
        );
      }
    });
    this.sink(rel, table, columns, ctx, s.pos);
    runWhenPlanned(ctx);
    return { kind: 'pipeline', target: table.name, uids: ctx.uids.nodes.map((n) => n.uid) };
  }

  private select(q: Query, ctx: PlanContext): StatementResult {
    const rel = settled(planQuery(q, ctx));
    const columns: Column[] = rel.fields.map((f) => ({ name: f.name, type: f.type }));
    const printTable: TableDef = {
      name: ctx.uids.prefix,
      columns,
      options: { connector: 'print' },
      stmt: { k: 'createTable', name: ctx.uids.prefix, columns: [], options: {}, optionPos: {}, pos: q.pos },
    };
    this.sink(rel, printTable, columns, ctx, q.pos);
    runWhenPlanned(ctx);
    return { kind: 'pipeline', target: 'stdout', uids: ctx.uids.nodes.map((n) => n.uid) };
  }

  /** Connects `rel` to the table's sink, after the changelog check. */
  private sink(rel: Rel, table: TableDef, columns: Column[], ctx: PlanContext, pos: Pos): void {
    const sink = tableSink(table);
    if (rel.updating && sink.accepts === 'append') {
      throw sqlError(
        pos,
        `table '${table.name}' (connector '${table.options.connector}', format '${table.options.format ?? ''}') takes only inserts, but the query produces updates and deletes (${rel.updateReason ?? 'an updating operator'}); write into a sink that takes a changelog (an upsert sink with PRIMARY KEY (…) NOT ENFORCED, or 'print'), or make the query append-only (window aggregates instead of a non-windowed GROUP BY)`,
      );
    }
    const from = rel.fields.map((f) => f.key);
    const to = columns.map((c) => c.name);
    const n = to.length;
    // Flink casts into a DECIMAL(p, s) column implicitly (HALF_UP to s, NULL past p): only where the value may not fit.
    const casts = sinkCasts(
      rel.fields.map((f) => f.type),
      columns.map((c) => c.type),
    );
    const same = casts === undefined && from.every((k, i) => k === to[i]);
    const shape = (row: Row): Row => {
      if (same) return row;
      const o: Row = {};
      for (let i = 0; i < n; i++) o[to[i]!] = row[from[i]!];
      if (casts !== undefined) for (const [i, cast] of casts) o[to[i]!] = cast(o[to[i]!]);
      return o;
    };
    const format = sink.format;
    let out: AnyStream;
    if (sink.accepts === 'upsert') {
      // An upsert sink takes every change, keyed by its primary key (sqlchange's sinkChangelog).
      const uidShape = ctx.uids.next('calc', `changes into the columns of ${table.name}`);
      const changes = rel.updating
        ? (rel.stream as DataStream<ChangeRow>).map((c): ChangeRow => ({ kind: c.kind, row: shape(c.row) })).uid(uidShape)
        : (rel.stream as DataStream<Row>).map((r): ChangeRow => ({ kind: '+I', row: shape(r) })).uid(uidShape);
      const uid = ctx.uids.next('sink', `${table.options.connector} upsert table ${table.name} by (${table.primaryKey!.join(', ')})`);
      sinkChangelog(changes, sink.sink as UpsertSink)
        .uid(uid)
        .name(`sql:sink ${table.name}`);
      return;
    }
    if (format) {
      const uid = ctx.uids.next('calc', `format for ${table.options.connector}`);
      out = rel.updating
        ? (rel.stream as DataStream<ChangeRow>).map((c) => format(c.kind, shape(c.row))).uid(uid)
        : (rel.stream as DataStream<Row>).map((r) => format('+I', shape(r))).uid(uid);
    } else if (rel.updating && !same) {
      const uid = ctx.uids.next('calc', `changes to rows`);
      out = (rel.stream as DataStream<ChangeRow>).map((c) => ({ ...c, row: shape(c.row) })).uid(uid);
    } else if (!same) {
      const uid = ctx.uids.next('calc', `columns of ${table.name}`);
      out = (rel.stream as DataStream<Row>).map(shape).uid(uid);
    } else out = rel.stream;
    const uid = ctx.uids.next(
      'sink',
      `${table.options.connector} table ${table.name}${table.options.path ? ` (${table.options.path})` : ''}`,
    );
    out.sinkTo(sink.sink).uid(uid).name(`sql:sink ${table.name}`);
  }

  private prefix(name: string): string {
    const p = uidPrefix(name, this.prefixes);
    this.prefixes.add(p);
    return p;
  }

  private context(prefix: string, pos: Pos): PlanContext {
    return {
      env: this.env,
      catalog: this.catalog,
      uids: new UidNamer(prefix),
      scans: new Map(),
      expanding: new Set(),
      planFrom,
      whenPlanned: [],
      ...this.planSettings(pos),
    };
  }

  /** What planning a statement at `pos` takes from the settings. */
  private planSettings(pos: Pos): Pick<PlanContext, 'ttlMs' | 'miniBatch'> {
    return { ttlMs: this.settings.ttlMs, miniBatch: miniBatchTrigger(this.settings, (m) => sqlError(pos, m)) };
  }
}

/**
 * INSERT matches columns by position: a top-level select list named as the sink's columns
 * makes its projection write the sink's rows directly (no renaming operator after it).
 */
function namedAsSink(q: Query, columns: Column[]): Query {
  if (q.k !== 'select' || q.items.length !== columns.length || q.items.some((it) => it.e.k === 'star')) return q;
  return { ...q, items: q.items.map((it, i) => ({ ...it, alias: columns[i]!.name })) };
}

/** `sql-<target>`, or `sql-<target>-2`, … when a statement already wrote into that target. */
function uidPrefix(name: string, used: ReadonlySet<string>): string {
  const base = `sql-${uidPart(name)}`;
  let p = base;
  for (let i = 2; used.has(p); i++) p = `${base}-${i}`;
  return p;
}

function scratchContext(catalog: Catalog, prefix = 'sql-scratch'): PlanContext {
  return {
    env: new StreamExecutionEnvironment({}),
    catalog,
    uids: new UidNamer(prefix),
    scans: new Map(),
    expanding: new Set(),
    planFrom,
    whenPlanned: [],
  };
}

/** The plan as EXPLAIN prints it: one operator per line with its uid, in graph order. */
export function formatPlan(nodes: readonly PlanNode[]): string {
  const width = Math.max(...nodes.map((n) => n.uid.length));
  return nodes.map((n) => `${n.uid.padEnd(width)}  ${n.kind.padEnd(8)} ${n.detail}`).join('\n');
}

/** A CREATE TABLE statement as a table definition (types resolved, watermark checked). */
function tableDef(s: Statement & { k: 'createTable' }): TableDef {
  const seen = new Set<string>();
  const physical: Array<{ name: string; key: string; type: ReturnType<typeof resolveType> }> = [];
  const columns: Column[] = [];
  for (const c of s.columns) {
    if (seen.has(c.name.toLowerCase())) throw sqlError(c.pos, `column '${c.name}' is declared twice in table '${s.name}'`);
    seen.add(c.name.toLowerCase());
    if ('type' in c) {
      const type = resolveType(c.type);
      physical.push({ name: c.name, key: c.name, type });
      columns.push({ name: c.name, type });
    }
  }
  for (const c of s.columns) {
    if ('expr' in c) columns.push({ name: c.name, type: compile(c.expr, { fields: physical }).type, computed: c.expr });
  }
  // Keep the declared order of columns (computed ones where they were written).
  columns.sort((a, b) => s.columns.findIndex((c) => c.name === a.name) - s.columns.findIndex((c) => c.name === b.name));
  let watermark: TableDef['watermark'];
  if (s.watermark) {
    const col = columns.find((c) => c.name.toLowerCase() === s.watermark!.col.toLowerCase());
    if (!col) throw sqlError(s.watermark.pos, `WATERMARK FOR '${s.watermark.col}': no such column in table '${s.name}'`);
    if (col.type.name !== 'TIMESTAMP')
      throw sqlError(s.watermark.pos, `WATERMARK FOR '${col.name}': the column must be a TIMESTAMP, it is ${typeName(col.type)}`);
    watermark = { col: col.name, delayMs: watermarkDelay(s.watermark.expr, col.name) };
  }
  if (s.primaryKey) {
    for (const k of s.primaryKey)
      if (!columns.some((c) => c.name.toLowerCase() === k.toLowerCase()))
        throw sqlError(s.pos, `PRIMARY KEY column '${k}' is not a column of table '${s.name}'`);
  }
  return { name: s.name, columns, watermark, primaryKey: s.primaryKey, options: s.options, stmt: s };
}

/** `col` → 0, `col - INTERVAL 'n' unit` → n in ms; other watermark expressions are not supported. */
function watermarkDelay(e: Expr, col: string): number {
  if (e.k === 'ref' && e.parts.length === 1 && e.parts[0]!.toLowerCase() === col.toLowerCase()) return 0;
  if (
    e.k === 'binary' &&
    e.op === '-' &&
    e.l.k === 'ref' &&
    e.l.parts.length === 1 &&
    e.l.parts[0]!.toLowerCase() === col.toLowerCase() &&
    e.r.k === 'interval' &&
    e.r.ms >= 0
  )
    return e.r.ms;
  throw sqlUnsupported(
    e.pos,
    `this watermark expression (eddy's SQL takes WATERMARK FOR ${col} AS ${col} - INTERVAL 'n' SECOND, or AS ${col})`,
  );
}
