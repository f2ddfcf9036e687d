/**
 * The shell's catalog over sqlplan's SqlSession: DDL and SET run at once against a session
 * whose environment never runs (it only holds the catalog), and are kept as the script every
 * query job replays. A query's columns and a view's are found by planning it into a
 * throwaway session, so nothing is added to the kept one.
 */
import { StreamExecutionEnvironment } from '../../api/environment.js';
import { EddyError } from '../../failure.js';
import { parseQuery } from '../parser.js';
import { SqlSession } from '../session.js';
import { typeName } from '../types.js';
import type { ShellCatalog } from './catalog.js';
import type { ResultColumn } from './render.js';

export class SessionCatalog implements ShellCatalog {
  private readonly statements: string[] = [];
  private readonly session = new SqlSession(new StreamExecutionEnvironment({}));
  private readonly names: string[] = [];

  ddl(statement: string): string {
    const results = this.session.execute(statement);
    this.statements.push(statement);
    return results
      .map((r) => {
        if (r.kind === 'ddl') {
          const [what, name] = r.what.split(' ');
          this.names.push(name!);
          return `[INFO] ${what === 'view' ? 'View' : 'Table'} '${name}' created.`;
        }
        if (r.kind === 'set') return `[INFO] Set '${r.key}' = '${r.value}'.`;
        if (r.kind === 'explain') return r.plan;
        return `[INFO] ${r.kind}`;
      })
      .join('\n');
  }

  tables(): string[] {
    return [...this.names].sort((a, b) => a.localeCompare(b));
  }

  describe(name: string): ResultColumn[] {
    const found = this.session.catalog.lookup(name);
    if (!found) throw new EddyError('SQL_INVALID', `DESCRIBE ${name}: no such table or view (${this.session.catalog.known()})`);
    if ('table' in found) return found.table.columns.map((c) => ({ name: c.name, type: typeName(c.type) }));
    return this.plan(found.view.q);
  }

  explain(statement: string): string {
    const results = this.session.execute(statement);
    return results.map((r) => (r.kind === 'explain' ? r.plan : '')).join('\n');
  }

  columns(select: string): ResultColumn[] {
    return this.plan(parseQuery(select));
  }

  script(): string {
    return this.statements.map((s) => `${s};\n`).join('');
  }

  private plan(q: ReturnType<typeof parseQuery>): ResultColumn[] {
    const scratch = new SqlSession(new StreamExecutionEnvironment({}));
    scratch.execute(this.script());
    return scratch.query(q, 'shell').fields.map((f) => ({ name: f.name, type: typeName(f.type) }));
  }
}
