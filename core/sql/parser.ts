/**
 * A recursive-descent parser for the Flink SQL subset eddy plans. Hand-written because
 * node-sql-parser's FlinkSQL dialect (5.4.0) rejects computed columns, `WATERMARK FOR` and
 * `FILTER (WHERE …)`; here every error names the line, the column and what was expected.
 */
import type { ColumnDef, Expr, FromItem, Over, Query, Select, SelectItem, Statement, TypeRef, WindowTvf } from './ast.js';
import { sqlError, sqlUnsupported, type Pos } from './errors.js';
import { tokenize, type Token } from './lexer.js';

/** Words that end an expression or a FROM item, so they are never taken as an alias. */
const RESERVED = new Set([
  'SELECT',
  'FROM',
  'WHERE',
  'GROUP',
  'HAVING',
  'ORDER',
  'LIMIT',
  'UNION',
  'JOIN',
  'INNER',
  'LEFT',
  'RIGHT',
  'FULL',
  'CROSS',
  'OUTER',
  'ON',
  'AND',
  'OR',
  'NOT',
  'AS',
  'BY',
  'WITH',
  'INSERT',
  'INTO',
  'CREATE',
  'TABLE',
  'VIEW',
  'CASE',
  'WHEN',
  'THEN',
  'ELSE',
  'END',
  'IS',
  'NULL',
  'IN',
  'LIKE',
  'BETWEEN',
  'DISTINCT',
  'ALL',
  'OVER',
  'FILTER',
  'PARTITION',
  'WINDOW',
  'EXPLAIN',
  'SET',
  'FOR',
  'TRUE',
  'FALSE',
  'INTERVAL',
  'CAST',
  'PRIMARY',
  'KEY',
  'WATERMARK',
  'LATERAL',
  'NATURAL',
  'USING',
  'MATCH_RECOGNIZE',
]);

const INTERVAL_UNITS: Record<string, number> = {
  MILLISECOND: 1,
  SECOND: 1000,
  MINUTE: 60_000,
  HOUR: 3_600_000,
  DAY: 86_400_000,
};

/** Parses a script of `;`-separated statements. */
export function parseStatements(text: string): Statement[] {
  const p = new Parser(tokenize(text));
  const out: Statement[] = [];
  for (;;) {
    while (p.eatOp(';'));
    if (p.peek().kind === 'eof') return out;
    out.push(p.statement());
    if (p.peek().kind !== 'eof') p.expectOp(';', 'a ; between statements');
  }
}

/** Parses one query (a SELECT or UNION ALL), as `env.sqlQuery` takes it. */
export function parseQuery(text: string): Query {
  const p = new Parser(tokenize(text));
  const q = p.query();
  p.eatOp(';');
  p.expectEof();
  return q;
}

class Parser {
  private i = 0;
  constructor(private readonly t: Token[]) {}

  peek(ahead = 0): Token {
    return this.t[Math.min(this.i + ahead, this.t.length - 1)]!;
  }
  private next(): Token {
    const tok = this.peek();
    if (tok.kind !== 'eof') this.i++;
    return tok;
  }
  private pos(tok = this.peek()): Pos {
    return { line: tok.line, col: tok.col };
  }
  private isWord(w: string, ahead = 0): boolean {
    const tok = this.peek(ahead);
    return tok.kind === 'word' && tok.text.toUpperCase() === w;
  }
  private eatWord(w: string): boolean {
    if (!this.isWord(w)) return false;
    this.i++;
    return true;
  }
  eatOp(op: string): boolean {
    const tok = this.peek();
    if (tok.kind !== 'op' || tok.text !== op) return false;
    this.i++;
    return true;
  }
  private fail(expected: string): never {
    const tok = this.peek();
    const found =
      tok.kind === 'eof'
        ? 'the end of the text'
        : tok.kind === 'string'
          ? `'${tok.text}'`
          : tok.kind === 'quoted'
            ? `\`${tok.text}\``
            : `'${tok.text}'`;
    throw sqlError(this.pos(tok), `expected ${expected} but found ${found}`);
  }
  private expectWord(w: string, what = w): void {
    if (!this.eatWord(w)) this.fail(what);
  }
  expectOp(op: string, what = `'${op}'`): void {
    if (!this.eatOp(op)) this.fail(what);
  }
  expectEof(): void {
    if (this.peek().kind !== 'eof') this.fail('the end of the query');
  }
  private ident(what = 'a name'): string {
    const tok = this.peek();
    if (tok.kind === 'quoted' || (tok.kind === 'word' && !RESERVED.has(tok.text.toUpperCase()))) {
      this.i++;
      return tok.text;
    }
    return this.fail(what);
  }
  private identLoose(what = 'a name'): string {
    // After a dot or where only a name can stand, reserved words are names too (e.g. t.`value`, person.name).
    const tok = this.peek();
    if (tok.kind === 'quoted' || tok.kind === 'word') {
      this.i++;
      return tok.text;
    }
    return this.fail(what);
  }
  private string(what = 'a quoted string'): string {
    const tok = this.peek();
    if (tok.kind !== 'string') this.fail(what);
    this.i++;
    return tok.text;
  }

  statement(): Statement {
    const pos = this.pos();
    if (this.eatWord('EXPLAIN')) {
      if (this.eatWord('PLAN')) this.expectWord('FOR', 'FOR after EXPLAIN PLAN');
      return { k: 'explain', stmt: this.statement(), pos };
    }
    if (this.eatWord('CREATE')) {
      if (this.eatWord('TEMPORARY')) {
        /* every table and view here lives as long as the script */
      }
      if (this.eatWord('TABLE')) return this.createTable(pos);
      if (this.eatWord('VIEW')) {
        const name = this.ident('the name of the view');
        this.expectWord('AS', 'AS after the view name');
        return { k: 'createView', name, q: this.query(), pos };
      }
      this.eatWord('SYSTEM');
      if (this.eatWord('FUNCTION')) {
        if (this.eatWord('IF')) {
          this.expectWord('NOT');
          this.expectWord('EXISTS');
        }
        const name = this.ident('the name of the function');
        this.expectWord('AS', "AS 'module' after the function name");
        const mod = this.next();
        if (mod.kind !== 'string') this.fail("a quoted module path, e.g. AS './count-char.js'");
        const language = this.eatWord('LANGUAGE') ? this.next().text.toUpperCase() : undefined;
        return { k: 'createFunction', name, module: mod.text, language, pos };
      }
      this.fail('TABLE or VIEW after CREATE');
    }
    if (this.eatWord('INSERT')) {
      if (!this.eatWord('INTO')) {
        if (this.isWord('OVERWRITE')) throw sqlUnsupported(this.pos(), 'INSERT OVERWRITE');
        this.fail('INTO after INSERT');
      }
      const table = this.ident('the name of the table to insert into');
      if (this.peek().kind === 'op' && this.peek().text === '(') throw sqlUnsupported(this.pos(), 'a column list after INSERT INTO table');
      return { k: 'insert', table, q: this.query(), pos };
    }
    if (this.eatWord('SET')) {
      const key = this.string("a quoted key, e.g. SET 'parallelism.default' = '2'");
      this.expectOp('=');
      const value = this.string('a quoted value');
      return { k: 'set', key, value, pos };
    }
    if (this.isWord('SELECT') || (this.peek().kind === 'op' && this.peek().text === '(')) return { k: 'select', q: this.query(), pos };
    if (this.isWord('WITH')) throw sqlUnsupported(pos, 'WITH (common table expressions); use CREATE VIEW');
    return this.fail('a statement (CREATE TABLE, CREATE VIEW, INSERT INTO, SELECT, EXPLAIN or SET)');
  }

  private createTable(pos: Pos): Statement {
    if (this.eatWord('IF')) {
      this.expectWord('NOT');
      this.expectWord('EXISTS');
    }
    const name = this.ident('the name of the table');
    this.expectOp('(', "'(' and the columns of the table");
    const columns: ColumnDef[] = [];
    let watermark: { col: string; expr: Expr; pos: Pos } | undefined;
    let primaryKey: string[] | undefined;
    do {
      const at = this.pos();
      if (this.eatWord('WATERMARK')) {
        this.expectWord('FOR', 'FOR after WATERMARK');
        const col = this.ident('the time column of the watermark');
        this.expectWord('AS', 'AS after WATERMARK FOR column');
        watermark = { col, expr: this.expr(), pos: at };
      } else if (this.isWord('PRIMARY') || this.isWord('CONSTRAINT')) {
        if (this.eatWord('CONSTRAINT')) this.ident('the name of the constraint');
        this.expectWord('PRIMARY');
        this.expectWord('KEY', 'KEY after PRIMARY');
        this.expectOp('(');
        primaryKey = [this.ident('a column of the primary key')];
        while (this.eatOp(',')) primaryKey.push(this.ident('a column of the primary key'));
        this.expectOp(')');
        this.expectWord('NOT', 'NOT ENFORCED (Flink does not check primary keys)');
        this.expectWord('ENFORCED', 'ENFORCED after NOT');
      } else {
        // Column names may be reserved words elsewhere (q13's `key`).
        const col = this.identLoose('a column name, WATERMARK FOR or PRIMARY KEY');
        if (this.eatWord('AS')) columns.push({ name: col, expr: this.expr(), pos: at });
        else {
          if (this.isWord('METADATA', 1)) throw sqlUnsupported(this.pos(), 'METADATA columns');
          const type = this.type();
          if (this.eatWord('NOT')) this.expectWord('NULL', 'NULL after NOT');
          else this.eatWord('NULL');
          if (this.isWord('PRIMARY')) {
            this.i++;
            this.expectWord('KEY');
            this.expectWord('NOT', 'NOT ENFORCED (Flink does not check primary keys)');
            this.expectWord('ENFORCED');
            primaryKey = [col];
          }
          if (this.isWord('METADATA')) throw sqlUnsupported(this.pos(), 'METADATA columns');
          columns.push({ name: col, type, pos: at });
        }
      }
    } while (this.eatOp(','));
    this.expectOp(')', "',' or ')' after a column");
    if (this.eatWord('PARTITIONED')) {
      // Partitioning only splits a file sink's output into directories; the rows are the same.
      this.expectWord('BY', 'BY after PARTITIONED');
      this.expectOp('(');
      do this.identLoose('a partition column');
      while (this.eatOp(','));
      this.expectOp(')');
    }
    this.expectWord('WITH', "WITH ('connector' = …)");
    this.expectOp('(');
    const options: Record<string, string> = {};
    const optionPos: Record<string, Pos> = {};
    if (!this.eatOp(')')) {
      do {
        const at = this.pos();
        const key = this.string("a quoted option key, e.g. 'connector'");
        this.expectOp('=');
        options[key] = this.string(`a quoted value for '${key}'`);
        optionPos[key] = at;
      } while (this.eatOp(','));
      this.expectOp(')', "',' or ')' after an option");
    }
    return { k: 'createTable', name, columns, watermark, primaryKey, options, optionPos, pos };
  }

  private type(): TypeRef {
    const pos = this.pos();
    const tok = this.peek();
    if (tok.kind !== 'word') this.fail('a type (BIGINT, INT, DOUBLE, DECIMAL, VARCHAR, STRING, BOOLEAN, TIMESTAMP(3), ROW<…>)');
    this.i++;
    let name = tok.text.toUpperCase();
    if (name === 'DOUBLE') this.eatWord('PRECISION');
    if (name === 'CHARACTER' && this.eatWord('VARYING')) name = 'VARCHAR';
    if (name === 'ROW') {
      const close = this.eatOp('<') ? '>' : (this.expectOp('(', "'<' or '(' after ROW"), ')');
      const fields: Array<{ name: string; type: TypeRef }> = [];
      do fields.push({ name: this.identLoose('a field name'), type: this.type() });
      while (this.eatOp(','));
      this.expectOp(close, `',' or '${close}' in ROW`);
      return { name, fields, pos };
    }
    let params: number[] | undefined;
    if (this.eatOp('(')) {
      params = [Number(this.next().text)];
      if (this.eatOp(',')) params.push(Number(this.next().text));
      this.expectOp(')');
    }
    if (name === 'TIMESTAMP' || name === 'TIME') {
      if (this.eatWord('WITH') || this.eatWord('WITHOUT')) {
        this.eatWord('LOCAL');
        this.expectWord('TIME');
        this.expectWord('ZONE');
      }
    }
    if (name === 'TIMESTAMP_LTZ') name = 'TIMESTAMP';
    return params === undefined ? { name, pos } : { name, params, pos };
  }

  query(): Query {
    let q = this.queryTerm();
    while (this.isWord('UNION') || this.isWord('INTERSECT') || this.isWord('EXCEPT')) {
      const pos = this.pos();
      if (!this.eatWord('UNION')) throw sqlUnsupported(pos, this.peek().text.toUpperCase());
      const all = this.eatWord('ALL');
      if (!all) this.eatWord('DISTINCT');
      q = { k: 'union', all, l: q, r: this.queryTerm(), pos };
    }
    if (this.isWord('ORDER'))
      throw sqlUnsupported(this.pos(), 'ORDER BY on a streaming query (use ROW_NUMBER() OVER (… ORDER BY …) for Top-N)');
    if (this.isWord('LIMIT')) throw sqlUnsupported(this.pos(), 'LIMIT');
    return q;
  }

  private queryTerm(): Query {
    if (this.eatOp('(')) {
      const q = this.query();
      this.expectOp(')');
      return q;
    }
    return this.select();
  }

  private select(): Select {
    const pos = this.pos();
    this.expectWord('SELECT', 'SELECT');
    const distinct = this.eatWord('DISTINCT');
    if (!distinct) this.eatWord('ALL');
    const items: SelectItem[] = [];
    do {
      const e = this.expr();
      let alias: string | undefined;
      if (this.eatWord('AS')) alias = this.identLoose('an alias after AS');
      else if (this.peek().kind === 'quoted' || (this.peek().kind === 'word' && !RESERVED.has(this.peek().text.toUpperCase())))
        alias = this.ident();
      items.push({ e, alias });
    } while (this.eatOp(','));
    const s: Select = { k: 'select', distinct, items, groupBy: [], pos };
    if (this.eatWord('FROM')) s.from = this.fromList();
    if (this.eatWord('WHERE')) s.where = this.expr();
    if (this.eatWord('GROUP')) {
      this.expectWord('BY', 'BY after GROUP');
      do s.groupBy.push(this.expr());
      while (this.eatOp(','));
    }
    if (this.eatWord('HAVING')) s.having = this.expr();
    if (this.isWord('WINDOW')) throw sqlUnsupported(this.pos(), 'the WINDOW clause');
    return s;
  }

  private fromList(): FromItem {
    let f = this.joined();
    while (this.peek().kind === 'op' && this.peek().text === ',') {
      const pos = this.pos();
      this.i++;
      f = { k: 'join', type: 'cross', l: f, r: this.joined(), pos };
    }
    return f;
  }

  private joined(): FromItem {
    let f = this.fromItem();
    for (;;) {
      const pos = this.pos();
      let type: 'inner' | 'left' | 'right' | 'full' | 'cross' | undefined;
      if (this.eatWord('JOIN')) type = 'inner';
      else if (this.eatWord('INNER')) (this.expectWord('JOIN', 'JOIN after INNER'), (type = 'inner'));
      else if (this.eatWord('CROSS')) (this.expectWord('JOIN', 'JOIN after CROSS'), (type = 'cross'));
      else if (this.isWord('LEFT') || this.isWord('RIGHT') || this.isWord('FULL')) {
        type = this.next().text.toLowerCase() as 'left' | 'right' | 'full';
        this.eatWord('OUTER');
        this.expectWord('JOIN', 'JOIN');
      } else if (this.isWord('NATURAL')) throw sqlUnsupported(pos, 'NATURAL JOIN');
      if (type === undefined) return f;
      const r = this.fromItem();
      let on: Expr | undefined;
      if (type !== 'cross') {
        if (this.isWord('USING')) throw sqlUnsupported(this.pos(), 'JOIN … USING (write ON a.x = b.x)');
        this.expectWord('ON', 'ON and the join condition');
        on = this.expr();
      }
      f = { k: 'join', type, l: f, r, on, pos };
    }
  }

  private alias(): string | undefined {
    if (this.eatWord('AS')) return this.ident('an alias after AS');
    const tok = this.peek();
    if (tok.kind === 'quoted' || (tok.kind === 'word' && !RESERVED.has(tok.text.toUpperCase()))) return this.ident();
    return undefined;
  }

  private fromItem(): FromItem {
    const pos = this.pos();
    if (this.isWord('LATERAL') || this.isWord('UNNEST')) throw sqlUnsupported(pos, this.peek().text.toUpperCase());
    if (this.isWord('TABLE') && this.peek(1).kind === 'op' && this.peek(1).text === '(') {
      this.i += 2;
      const tvf = this.windowTvf();
      this.expectOp(')', "')' closing TABLE(");
      return { k: 'tvf', tvf, alias: this.alias(), pos };
    }
    if (this.eatOp('(')) {
      if (this.isWord('SELECT') || (this.peek().kind === 'op' && this.peek().text === '(')) {
        const q = this.query();
        this.expectOp(')', "')' closing the subquery");
        return { k: 'sub', q, alias: this.alias(), pos };
      }
      const f = this.fromList();
      this.expectOp(')');
      return f;
    }
    const name = this.ident('a table name, a subquery or TABLE(TUMBLE(…))');
    if (this.eatWord('FOR')) {
      this.expectWord('SYSTEM_TIME', 'SYSTEM_TIME after FOR');
      this.expectWord('AS');
      this.expectWord('OF');
      const asOf = this.expr();
      return { k: 'table', name, alias: this.alias(), pos, asOf };
    }
    return { k: 'table', name, alias: this.alias(), pos };
  }

  private windowTvf(): WindowTvf {
    const pos = this.pos();
    const fnTok = this.peek();
    const fn = fnTok.kind === 'word' ? fnTok.text.toUpperCase() : '';
    if (fn !== 'TUMBLE' && fn !== 'HOP' && fn !== 'CUMULATE' && fn !== 'SESSION') {
      if (fnTok.kind === 'word') throw sqlUnsupported(pos, `the table function ${fnTok.text}`);
      this.fail('TUMBLE, HOP, CUMULATE or SESSION');
    }
    this.i++;
    this.expectOp('(');
    this.expectWord('TABLE', `TABLE and a table name as the first argument of ${fn}`);
    const tpos = this.pos();
    const name = this.ident('a table or view name');
    const partitionBy: string[] = [];
    if (this.eatWord('PARTITION')) {
      this.expectWord('BY');
      do partitionBy.push(this.identLoose('a column'));
      while (this.eatOp(','));
    }
    this.expectOp(',', `',' and DESCRIPTOR(time column)`);
    this.expectWord('DESCRIPTOR', 'DESCRIPTOR(time column)');
    this.expectOp('(');
    const timePos = this.pos();
    const timeCol = this.identLoose('the time column');
    this.expectOp(')');
    const args: Expr[] = [];
    while (this.eatOp(',')) args.push(this.expr());
    this.expectOp(')', `',' or ')' closing ${fn}(`);
    return { fn, input: { k: 'table', name, pos: tpos }, timeCol, timePos, partitionBy, args, pos };
  }

  // ---- expressions, by precedence: OR < AND < NOT < comparison < || < + - < * / % < unary

  expr(): Expr {
    let l = this.and();
    while (this.isWord('OR')) {
      const pos = this.pos();
      this.i++;
      l = { k: 'binary', op: 'OR', l, r: this.and(), pos };
    }
    return l;
  }
  private and(): Expr {
    let l = this.not();
    while (this.isWord('AND')) {
      const pos = this.pos();
      this.i++;
      l = { k: 'binary', op: 'AND', l, r: this.not(), pos };
    }
    return l;
  }
  private not(): Expr {
    const pos = this.pos();
    if (this.eatWord('NOT')) return { k: 'unary', op: 'NOT', e: this.not(), pos };
    return this.comparison();
  }
  private comparison(): Expr {
    const l = this.concat();
    const pos = this.pos();
    const tok = this.peek();
    if (tok.kind === 'op' && ['=', '<>', '!=', '<', '<=', '>', '>='].includes(tok.text)) {
      this.i++;
      return { k: 'binary', op: tok.text === '!=' ? '<>' : tok.text, l, r: this.concat(), pos };
    }
    if (this.eatWord('IS')) {
      const not = this.eatWord('NOT');
      if (this.eatWord('NULL')) return { k: 'isnull', e: l, not, pos };
      if (this.isWord('TRUE') || this.isWord('FALSE')) {
        const value = this.next().text.toUpperCase() === 'TRUE';
        const cmp: Expr = { k: 'binary', op: 'IS', l, r: { k: 'lit', value, pos }, pos };
        return not ? { k: 'unary', op: 'NOT', e: cmp, pos } : cmp;
      }
      if (this.isWord('DISTINCT')) throw sqlUnsupported(pos, 'IS [NOT] DISTINCT FROM');
      this.fail('NULL, TRUE or FALSE after IS');
    }
    const not = this.eatWord('NOT');
    if (this.eatWord('BETWEEN')) {
      this.eatWord('ASYMMETRIC');
      const lo = this.concat();
      this.expectWord('AND', 'AND in BETWEEN … AND …');
      return { k: 'between', e: l, lo, hi: this.concat(), not, pos };
    }
    if (this.eatWord('IN')) {
      this.expectOp('(', "'(' and a list of values after IN");
      if (this.isWord('SELECT')) throw sqlUnsupported(this.pos(), 'IN (subquery)');
      const list = [this.expr()];
      while (this.eatOp(',')) list.push(this.expr());
      this.expectOp(')', "',' or ')' in the IN list");
      return { k: 'in', e: l, list, not, pos };
    }
    if (this.eatWord('LIKE')) return { k: 'like', e: l, pattern: this.concat(), not, pos };
    if (this.isWord('SIMILAR')) throw sqlUnsupported(pos, 'SIMILAR TO');
    if (not) this.fail('BETWEEN, IN or LIKE after NOT');
    return l;
  }
  private concat(): Expr {
    let l = this.additive();
    while (this.peek().kind === 'op' && this.peek().text === '||') {
      const pos = this.pos();
      this.i++;
      l = { k: 'binary', op: '||', l, r: this.additive(), pos };
    }
    return l;
  }
  private additive(): Expr {
    let l = this.multiplicative();
    for (;;) {
      const tok = this.peek();
      if (tok.kind !== 'op' || (tok.text !== '+' && tok.text !== '-')) return l;
      this.i++;
      l = { k: 'binary', op: tok.text, l, r: this.multiplicative(), pos: this.pos(tok) };
    }
  }
  private multiplicative(): Expr {
    let l = this.unary();
    for (;;) {
      const tok = this.peek();
      if (tok.kind !== 'op' || (tok.text !== '*' && tok.text !== '/' && tok.text !== '%')) return l;
      this.i++;
      l = { k: 'binary', op: tok.text, l, r: this.unary(), pos: this.pos(tok) };
    }
  }
  private unary(): Expr {
    const pos = this.pos();
    if (this.eatOp('-')) return { k: 'unary', op: '-', e: this.unary(), pos };
    if (this.eatOp('+')) return this.unary();
    return this.primary();
  }

  private primary(): Expr {
    const tok = this.peek();
    const pos = this.pos();
    if (tok.kind === 'number') {
      this.i++;
      return { k: 'lit', value: Number(tok.text), pos, text: tok.text };
    }
    if (tok.kind === 'string') {
      this.i++;
      return { k: 'lit', value: tok.text, pos };
    }
    if (tok.kind === 'op' && tok.text === '(') {
      this.i++;
      if (this.isWord('SELECT')) throw sqlUnsupported(pos, 'a scalar subquery');
      const e = this.expr();
      this.expectOp(')', "')'");
      return e;
    }
    if (tok.kind === 'op' && tok.text === '*') {
      this.i++;
      return { k: 'star', pos };
    }
    if (tok.kind === 'quoted') return this.ref();
    if (tok.kind !== 'word') return this.fail('an expression');
    const w = tok.text.toUpperCase();
    switch (w) {
      case 'NULL':
        this.i++;
        return { k: 'lit', value: null, pos };
      case 'TRUE':
      case 'FALSE':
        this.i++;
        return { k: 'lit', value: w === 'TRUE', pos };
      case 'INTERVAL':
        return this.interval();
      case 'CASE':
        return this.caseExpr();
      case 'CAST':
      case 'TRY_CAST': {
        this.i++;
        this.expectOp('(');
        const e = this.expr();
        this.expectWord('AS', 'AS and a type in CAST');
        const type = this.type();
        this.expectOp(')');
        return { k: 'cast', e, type, pos };
      }
      case 'EXTRACT': {
        if (!(this.peek(1).kind === 'op' && this.peek(1).text === '(')) break;
        this.i += 2;
        const unit = this.identLoose('a unit (YEAR, MONTH, DAY, HOUR, MINUTE, SECOND)').toUpperCase();
        this.expectWord('FROM', 'FROM in EXTRACT(unit FROM …)');
        const e = this.expr();
        this.expectOp(')');
        return { k: 'extract', unit, e, pos };
      }
      case 'TIMESTAMP':
      case 'DATE':
        if (this.peek(1).kind === 'string') {
          this.i++;
          const text = this.next().text;
          const ms = Date.parse(`${text.replace(' ', 'T')}${text.length > 10 ? 'Z' : 'T00:00:00Z'}`);
          if (Number.isNaN(ms)) throw sqlError(pos, `'${text}' is not a ${w} literal (expected 'yyyy-MM-dd HH:mm:ss')`);
          return { k: 'cast', e: { k: 'lit', value: ms, pos }, type: { name: 'TIMESTAMP', pos }, pos };
        }
        break;
    }
    if (RESERVED.has(w) && !(this.peek(1).kind === 'op' && this.peek(1).text === '(')) return this.fail('an expression');
    if (this.peek(1).kind === 'op' && this.peek(1).text === '(') return this.call();
    return this.ref();
  }

  private ref(): Expr {
    const pos = this.pos();
    const parts = [this.identLoose('a column')];
    while (this.peek().kind === 'op' && this.peek().text === '.') {
      this.i++;
      if (this.eatOp('*')) return { k: 'star', qual: parts.join('.'), pos };
      parts.push(this.identLoose('a column or field after .'));
    }
    return { k: 'ref', parts, pos };
  }

  private interval(): Expr {
    const pos = this.pos();
    this.i++;
    const neg = this.eatOp('-');
    const tok = this.peek();
    if (tok.kind !== 'string' && tok.kind !== 'number') this.fail("a quoted amount, e.g. INTERVAL '10' SECOND");
    this.i++;
    const amount = Number(tok.text);
    const unitTok = this.peek();
    const unit = unitTok.kind === 'word' ? unitTok.text.toUpperCase().replace(/S$/, '') : '';
    if (!Number.isFinite(amount))
      throw sqlError(this.pos(tok), `'${tok.text}' is not a number (INTERVAL '…' UNIT takes a number of units)`);
    if (!(unit in INTERVAL_UNITS)) {
      if (unit === 'MONTH' || unit === 'YEAR') throw sqlUnsupported(this.pos(unitTok), `INTERVAL … ${unit}`);
      this.fail('a unit: SECOND, MINUTE, HOUR, DAY or MILLISECOND');
    }
    this.i++;
    if (this.isWord('TO')) throw sqlUnsupported(this.pos(), 'compound intervals (… TO …)');
    return { k: 'interval', ms: (neg ? -1 : 1) * amount * INTERVAL_UNITS[unit]!, pos };
  }

  private caseExpr(): Expr {
    const pos = this.pos();
    this.i++;
    const operand = this.isWord('WHEN') ? undefined : this.expr();
    const whens: Array<[Expr, Expr]> = [];
    while (this.eatWord('WHEN')) {
      const w = this.expr();
      this.expectWord('THEN', 'THEN');
      whens.push([w, this.expr()]);
    }
    if (whens.length === 0) this.fail('WHEN');
    const otherwise = this.eatWord('ELSE') ? this.expr() : undefined;
    this.expectWord('END', 'WHEN, ELSE or END');
    return { k: 'case', operand, whens, otherwise, pos };
  }

  private call(): Expr {
    const pos = this.pos();
    const name = this.next().text.toUpperCase();
    this.expectOp('(');
    const distinct = this.eatWord('DISTINCT');
    let star = false;
    const args: Expr[] = [];
    if (this.eatOp('*')) star = true;
    else if (!(this.peek().kind === 'op' && this.peek().text === ')')) {
      do args.push(this.expr());
      while (this.eatOp(','));
    }
    this.expectOp(')', `',' or ')' closing ${name}(`);
    const e: Expr & { k: 'call' } = { k: 'call', name, args, distinct, star, pos };
    if (this.eatWord('FILTER')) {
      this.expectOp('(');
      this.expectWord('WHERE', 'WHERE in FILTER (WHERE …)');
      e.filter = this.expr();
      this.expectOp(')');
    }
    if (this.eatWord('OVER')) e.over = this.over();
    return e;
  }

  private over(): Over {
    const pos = this.pos();
    this.expectOp('(', "'(' after OVER");
    const partitionBy: Expr[] = [];
    const orderBy: Array<{ e: Expr; desc: boolean }> = [];
    if (this.eatWord('PARTITION')) {
      this.expectWord('BY');
      do partitionBy.push(this.expr());
      while (this.eatOp(','));
    }
    if (this.eatWord('ORDER')) {
      this.expectWord('BY');
      do {
        const e = this.expr();
        const desc = this.eatWord('DESC');
        if (!desc) this.eatWord('ASC');
        orderBy.push({ e, desc });
      } while (this.eatOp(','));
    }
    if (this.isWord('ROWS') || this.isWord('RANGE')) throw sqlUnsupported(this.pos(), 'OVER windows with ROWS/RANGE (over aggregation)');
    this.expectOp(')', "')' closing OVER (…)");
    return { partitionBy, orderBy, pos };
  }
}
