// test-lane: pair
// Every name exported from 'eddy' (core/index.ts) has a TSDoc comment, and so does every
// member a user reaches through it: the methods and properties of exported classes and
// interfaces, and every source and sink of `Sources` / `Sinks`. Checked with the TypeScript
// compiler API on the sources (the same comments TypeDoc turns into `npm run docs`).
// Members marked @internal, private or protected are not public and are not checked.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import ts from 'typescript';
import { repoRoot } from '../helpers/paths.js';

function undocumented(): { checked: number; missing: string[] } {
  const entry = join(repoRoot, 'core', 'index.ts');
  const program = ts.createProgram([entry], { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, strict: true, noEmit: true });
  const checker = program.getTypeChecker();
  const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
  const missing: string[] = [];
  let checked = 0;
  const seen = new Set<ts.Symbol>();

  const resolve = (s: ts.Symbol): ts.Symbol => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);
  const isInternal = (s: ts.Symbol) => s.getJsDocTags(checker).some((t) => t.name === 'internal');
  const hasDoc = (s: ts.Symbol) => ts.displayPartsToString(s.getDocumentationComment(checker)).trim().length > 0;
  const notPublic = (d: ts.Declaration) =>
    (ts.getCombinedModifierFlags(d) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) !== 0 || (ts.isClassElement(d) && d.name !== undefined && ts.isPrivateIdentifier(d.name));
  const inProject = (d: ts.Declaration) => !d.getSourceFile().fileName.includes('node_modules');

  const where = (s: ts.Symbol): string => {
    const d = s.declarations?.[0];
    if (!d) return '';
    const sf = d.getSourceFile();
    return ` (${sf.fileName.slice(repoRoot.length)}:${sf.getLineAndCharacterOfPosition(d.getStart()).line + 1})`;
  };

  function check(s: ts.Symbol, name: string): boolean {
    if (isInternal(s)) return false;
    checked++;
    if (!hasDoc(s)) missing.push(name + where(s));
    return true;
  }

  function members(owner: ts.Symbol, name: string): void {
    const decls = owner.declarations ?? [];
    for (const d of decls) {
      if (!(ts.isClassDeclaration(d) || ts.isInterfaceDeclaration(d)) || !inProject(d)) continue;
      for (const m of d.members) {
        if (ts.isConstructorDeclaration(m) || ts.isIndexSignatureDeclaration(m) || notPublic(m)) continue;
        const ms = m.name ? checker.getSymbolAtLocation(m.name) : undefined;
        if (!ms || seen.has(ms)) continue;
        seen.add(ms);
        // A phantom type field (declare readonly __type) is not API.
        if (ms.name.startsWith('__')) continue;
        const isStatic = (ts.getCombinedModifierFlags(m) & ts.ModifierFlags.Static) !== 0;
        check(ms, `${name}${isStatic ? '.' : '#'}${ms.name}`);
      }
    }
  }

  for (const exp of checker.getExportsOfModule(moduleSymbol)) {
    const s = resolve(exp);
    if (seen.has(s)) continue;
    seen.add(s);
    if (!check(s, exp.name)) continue;
    if (s.flags & (ts.SymbolFlags.Class | ts.SymbolFlags.Interface)) members(s, exp.name);
    // Sources and Sinks: every property's value (a factory function) is documented.
    if (exp.name === 'Sources' || exp.name === 'Sinks') {
      const type = checker.getTypeOfSymbol(s);
      for (const p of type.getProperties()) {
        const decl = p.valueDeclaration;
        const target = decl && ts.isShorthandPropertyAssignment(decl) ? checker.getShorthandAssignmentValueSymbol(decl) : p;
        checked++;
        if (!target || !hasDoc(resolve(target))) missing.push(`${exp.name}.${p.name}${target ? where(resolve(target)) : ''}`);
      }
    }
  }
  return { checked, missing };
}

describe('API reference', () => {
  it('every export of core/index.ts, every public member of its classes and interfaces, every source and sink has TSDoc', () => {
    const { checked, missing } = undocumented();
    assert.ok(checked > 100, `checked ${checked} names`);
    if (missing.length > 0) console.log(missing.join('\n'));
    assert.deepEqual(missing, [], `${missing.length} of ${checked} exported names have no TSDoc comment:\n  ${missing.join('\n  ')}`);
  });
});
