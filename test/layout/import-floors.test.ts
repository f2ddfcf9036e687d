// test-lane: pair
// The layout rule: "a newcomer follows one record from source to sink by reading the folder
// names; lower folders never import higher ones". This test reads every TypeScript source under
// core/ and workers/ (TypeScript's own import scanner: `import`, `import type`, `export … from`
// and `import('…')` with a literal path, never a match inside a comment), plus every module named
// for loading by `new URL('./x.js', import.meta.url)` (a worker entry, a loader hook: an import
// all the same, made at run time), and fails naming the file and line when
//   - a folder imports a folder on a higher floor (FLOORS below, bottom first),
//   - a folder has no floor yet (a new folder: give it one here and in README's layout), or
//   - folders import each other round in a circle (possible only within one floor).
// A few known arrows that run up are listed in KNOWN_UPWARD with the reason; each is pinned to
// one file and one target folder, so any other file doing the same still fails.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { repoRoot } from '../helpers/paths.js';

/**
 * Floors, bottom first: a folder may import its own floor and the floors below. The order is
 * the data path: contracts and shared-memory formats, then state and connectors, event time
 * and checkpoints, the operators that use them, the graph built from operators, the API that
 * builds the graph, the runtime that runs it, SQL on top of the API and the runtime, the entry
 * points (the CLI, the package's public index) and, alone on top so that nothing in core/ may
 * import it, the worker side.
 */
const FLOORS: readonly (readonly string[])[] = [
  [
    'core/failure.ts',
    'core/thread-roles.ts',
    'core/helper-thread.ts',
    'core/helper-reply.ts',
    'core/msgpack-write.ts',
    'core/contract',
    'core/channel',
  ],
  ['core/state', 'core/connectors'],
  ['core/time', 'core/checkpoint'],
  ['core/operators', 'core/control'],
  ['core/graph'],
  ['core/api'],
  ['core/observe'],
  ['core/runtime'],
  ['core/sql'],
  ['core/cli', 'core/index.ts'],
  ['workers'],
];

interface KnownUpward {
  file: string;
  target: string;
  why: string;
}

/** Arrows that run up today, each with its reason; anything else going up fails. */
const KNOWN_UPWARD: readonly KnownUpward[] = [
  {
    file: 'core/runtime/module-loader.ts',
    target: 'core/index.ts',
    why: "preloads the public API (what a job's `import 'eddy'` pulls in) before the resolve hook is registered, and hands the hook its URL: a deliberate load of the top, like pool.ts naming the worker entry",
  },
  {
    file: 'core/runtime/pool.ts',
    target: 'workers',
    why: 'names the worker entry (workers/bootstrap.js) each thread of the pool starts with: the runtime must say what runs on its threads',
  },
];

interface ImportEdge {
  file: string;
  line: number;
  target: string;
  fromFolder: string;
  toFolder: string;
}

/** The folder a source belongs to: core/<dir>, a file directly in core/, or workers. */
function folderOf(rel: string): string {
  const parts = rel.split('/');
  if (parts[0] === 'workers') return 'workers';
  return parts.length === 2 ? rel : `${parts[0]}/${parts[1]}`;
}

function sources(root: string, dir: string): string[] {
  const out: string[] = [];
  let entries;
  try {
    entries = readdirSync(join(root, dir), { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw err;
  }
  for (const e of entries) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...sources(root, rel));
    else if (/\.m?ts$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

/**
 * Modules named by `new URL('<relative .js/.mjs>', import.meta.url)`: loaded by a worker, a
 * loader hook or a dynamic import of the URL, out of reach of TypeScript's import scanner.
 */
function modulesNamedByUrl(file: string, text: string): { fileName: string; pos: number }[] {
  if (!text.includes('import.meta.url')) return [];
  const found: { fileName: string; pos: number }[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'URL' && node.arguments?.length === 2) {
      const [spec, base] = node.arguments;
      if (ts.isStringLiteralLike(spec) && /\.m?js$/.test(spec.text) && base.getText() === 'import.meta.url')
        found.push({ fileName: spec.text, pos: spec.getStart() });
    }
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true));
  return found;
}

/** Every relative import between two different folders, with its line. */
function folderImports(root: string): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const file of [...sources(root, 'core'), ...sources(root, 'workers')]) {
    const text = readFileSync(join(root, file), 'utf8');
    for (const imported of [...ts.preProcessFile(text, true, true).importedFiles, ...modulesNamedByUrl(file, text)]) {
      if (!imported.fileName.startsWith('.')) continue;
      const abs = resolve(root, dirname(file), imported.fileName).replace(/\.(m?js)$/, (ext) => (ext === '.mjs' ? '.mts' : '.ts'));
      const target = relative(root, abs).split(sep).join('/');
      if (!/^(core|workers)\//.test(target)) continue;
      const fromFolder = folderOf(file);
      const toFolder = folderOf(target);
      if (fromFolder === toFolder) continue;
      const line = text.slice(0, imported.pos).split('\n').length;
      edges.push({ file, line, target, fromFolder, toFolder });
    }
  }
  return edges;
}

/** 1 for the bottom floor; 0 for a folder that has none. */
function floorOf(folder: string): number {
  return FLOORS.findIndex((f) => f.includes(folder)) + 1;
}

/** Violations of the floor order, one line each naming file and line. */
function upwardImports(edges: readonly ImportEdge[], known: readonly KnownUpward[]): string[] {
  const problems: string[] = [];
  const unfloored = new Set<string>();
  for (const e of edges) {
    for (const folder of [e.fromFolder, e.toFolder]) {
      if (floorOf(folder) === 0 && !unfloored.has(folder)) {
        unfloored.add(folder);
        problems.push(
          `${e.file}:${e.line}: folder ${folder} has no floor; add it to FLOORS in test/layout/import-floors.test.ts (and README's layout)`,
        );
      }
    }
    const from = floorOf(e.fromFolder);
    const to = floorOf(e.toFolder);
    if (from === 0 || to === 0 || to <= from) continue;
    if (known.some((k) => k.file === e.file && k.target === e.toFolder)) continue;
    problems.push(
      `${e.file}:${e.line}: ${e.fromFolder} (floor ${from}) imports ${e.target} on a higher floor (${e.toFolder}, floor ${to})`,
    );
  }
  return problems;
}

/** Strongly connected components of more than one node, each sorted (Tarjan; the graphs are small, so recursion depth is no concern). */
function circles(graph: ReadonlyMap<string, { keys(): Iterable<string> }>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)!.keys()) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) found.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

/** Folder circles (strongly connected components of more than one folder), known arrows left out. */
function folderCircles(edges: readonly ImportEdge[], known: readonly KnownUpward[]): string[] {
  const graph = new Map<string, Map<string, ImportEdge>>();
  for (const e of edges) {
    if (known.some((k) => k.file === e.file && k.target === e.toFolder)) continue;
    if (!graph.has(e.fromFolder)) graph.set(e.fromFolder, new Map());
    if (!graph.has(e.toFolder)) graph.set(e.toFolder, new Map());
    const out = graph.get(e.fromFolder)!;
    if (!out.has(e.toFolder)) out.set(e.toFolder, e);
  }
  return circles(graph).map((scc) => {
    const ties = scc.flatMap((a) => scc.filter((b) => b !== a && graph.get(a)!.has(b)).map((b) => graph.get(a)!.get(b)!));
    return `import circle between ${scc.join(', ')}: ${ties.map((e) => `${e.file}:${e.line} imports ${e.target}`).join('; ')}`;
  });
}

/** Writes `files` (path → text) into a fresh folder, calls `check` with it, then removes it. */
function withTree(files: Record<string, string>, check: (root: string) => void): void {
  const root = mkdtempSync(join(tmpdir(), 'eddy-floors-'));
  try {
    for (const [rel, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, rel)), { recursive: true });
      writeFileSync(join(root, rel), text);
    }
    check(root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

describe('import floors: lower folders never import higher ones', () => {
  const edges = folderImports(repoRoot);

  it('the scan sees the imports of core/ and workers/', () => {
    // A scanner that found nothing would pass everything below.
    assert.ok(edges.length > 200, `only ${edges.length} imports between folders found`);
    assert.ok(edges.some((e) => e.fromFolder === 'workers' && e.toFolder === 'core/channel'));
  });

  it('no folder imports a folder on a higher floor', () => {
    const problems = upwardImports(edges, KNOWN_UPWARD);
    assert.deepEqual(problems, [], `\n${problems.join('\n')}`);
  });

  it('no import circle between folders', () => {
    const found = folderCircles(edges, KNOWN_UPWARD);
    assert.deepEqual(found, [], `\n${found.join('\n')}`);
  });

  it('every known upward arrow still exists (remove it from KNOWN_UPWARD once it is gone)', () => {
    const stale = KNOWN_UPWARD.filter((k) => !edges.some((e) => e.file === k.file && e.toFolder === k.target));
    assert.deepEqual(stale, []);
  });

  it('the checks catch an upward import, a type-only one in a multi-line import, a dynamic one, a module named by URL, core importing workers, a folder without a floor and a circle', () => {
    withTree(
      {
        'core/state/a.ts': "// import { no } from '../api/x.js' (a comment is not an import)\nimport type {\n  X,\n} from '../api/x.js';\n",
        'core/time/b.ts': "export const b = () => import('../graph/g.js');\n",
        'core/time/c.ts': "import { d } from '../checkpoint/d.js';\n",
        'core/checkpoint/d.ts': "export { c } from '../time/c.js';\n",
        'core/newfolder/e.ts': "import '../failure.js';\n",
        'core/api/x.ts': 'export type X = 1;\n',
        'core/cli/f.ts': "import { w } from '../../workers/w.js';\n",
        'core/control/g.ts':
          "// new URL('../runtime/commented.js', import.meta.url)\nconst pkg = new URL('../../package.json', import.meta.url);\nexport const entry = new URL(\n  '../runtime/r.js',\n  import.meta.url,\n);\n",
      },
      (root) => {
        const found = folderImports(root);
        const upward = upwardImports(found, []);
        assert.deepEqual(
          upward.sort(),
          [
            'core/state/a.ts:4: core/state (floor 2) imports core/api/x.ts on a higher floor (core/api, floor 6)',
            'core/time/b.ts:1: core/time (floor 3) imports core/graph/g.ts on a higher floor (core/graph, floor 5)',
            'core/cli/f.ts:1: core/cli (floor 10) imports workers/w.ts on a higher floor (workers, floor 11)',
            'core/control/g.ts:4: core/control (floor 4) imports core/runtime/r.ts on a higher floor (core/runtime, floor 8)',
            "core/newfolder/e.ts:1: folder core/newfolder has no floor; add it to FLOORS in test/layout/import-floors.test.ts (and README's layout)",
          ].sort(),
        );
        assert.deepEqual(folderCircles(found, []), [
          'import circle between core/checkpoint, core/time: core/checkpoint/d.ts:1 imports core/time/c.ts; core/time/c.ts:1 imports core/checkpoint/d.ts',
        ]);
        // A known arrow is excused for its own file only.
        const excused = upwardImports(found, [{ file: 'core/state/a.ts', target: 'core/api', why: '' }]);
        assert.deepEqual(excused.sort(), upward.filter((p) => !p.startsWith('core/state/a.ts')).sort());
      },
    );
  });
});

/**
 * Module cycles at run time: files that import values from each other in a circle. ES modules
 * evaluate such a circle in an order the importer does not choose, so a class used at module
 * top level (`extends`, a constant built at load) can be read before it exists. Type-only
 * imports vanish at compile time and are left out.
 */
function valueImports(root: string): Map<string, Map<string, number>> {
  const graph = new Map<string, Map<string, number>>();
  for (const file of [...sources(root, 'core'), ...sources(root, 'workers')]) {
    const text = readFileSync(join(root, file), 'utf8');
    const out = new Map<string, number>();
    graph.set(file, out);
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false);
    for (const st of sf.statements) {
      let spec: ts.Expression | undefined;
      let typeOnly = false;
      if (ts.isImportDeclaration(st)) {
        spec = st.moduleSpecifier;
        const c = st.importClause;
        typeOnly =
          c !== undefined &&
          (c.isTypeOnly ||
            (c.name === undefined &&
              c.namedBindings !== undefined &&
              ts.isNamedImports(c.namedBindings) &&
              c.namedBindings.elements.every((e) => e.isTypeOnly)));
      } else if (ts.isExportDeclaration(st) && st.moduleSpecifier) {
        spec = st.moduleSpecifier;
        typeOnly =
          st.isTypeOnly ||
          (st.exportClause !== undefined && ts.isNamedExports(st.exportClause) && st.exportClause.elements.every((e) => e.isTypeOnly));
      }
      if (spec === undefined || typeOnly || !ts.isStringLiteral(spec) || !spec.text.startsWith('.')) continue;
      const target = relative(root, resolve(root, dirname(file), spec.text.replace(/\.js$/, '.ts')))
        .split(sep)
        .join('/');
      if (!out.has(target)) out.set(target, sf.getLineAndCharacterOfPosition(spec.getStart(sf)).line + 1);
    }
  }
  return graph;
}

/** Strongly connected components of more than one file, each sorted, with the imports that tie them. */
function moduleCycles(graph: Map<string, Map<string, number>>): string[] {
  return circles(graph).map((scc) => {
    const ties = scc.flatMap((a) => scc.filter((b) => graph.get(a)!.has(b)).map((b) => `${a}:${graph.get(a)!.get(b)} imports ${b}`));
    return `module cycle ${scc.join(', ')}: ${ties.join('; ')}`;
  });
}

describe('no module cycle at run time', () => {
  it('no source files import values from each other in a circle', () => {
    const graph = valueImports(repoRoot);
    assert.ok(graph.size > 250, `only ${graph.size} sources read`);
    const cycles = moduleCycles(graph);
    assert.deepEqual(
      cycles,
      [],
      `\n${cycles.join('\n')}\nPass the callee a callback (as WindowedStream takes its adder) or move what both use into a module below them.`,
    );
  });

  it('the check finds a value cycle and ignores a type-only one', () => {
    withTree(
      {
        'core/api/a.ts': "import { b } from './b.js';\nexport const a = 1;\n",
        'core/api/b.ts': "import { c } from './c.js';\nexport const b = 2;\n",
        'core/api/c.ts': "import { a } from './a.js';\nexport const c = 3;\n",
        'core/api/d.ts': "import type { E } from './e.js';\nexport type D = 1;\n",
        'core/api/e.ts': "import { type D } from './d.js';\nexport { type D as F } from './d.js';\nexport type E = 2;\n",
      },
      (root) => {
        assert.deepEqual(moduleCycles(valueImports(root)), [
          'module cycle core/api/a.ts, core/api/b.ts, core/api/c.ts: core/api/a.ts:1 imports core/api/b.ts; core/api/b.ts:1 imports core/api/c.ts; core/api/c.ts:1 imports core/api/a.ts',
        ]);
      },
    );
  });
});
