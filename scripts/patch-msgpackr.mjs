// msgpackr decodes a string of more than 64 bytes with a module-wide `new TextDecoder()`,
// whose default (ignoreBOM: false) drops a leading U+FEFF: such a string loses its first
// character. It takes that path whenever its native string extractor cannot read the source,
// which is every record batch eddy decodes from a ring (a SharedArrayBuffer), so a record's
// string that starts with U+FEFF came out one character short. Found by the codec's property
// test (test/channel/codec); up to msgpackr 2.1.4 (the latest) every version has it. This
// makes every msgpackr copy under node_modules (lmdb has its own) keep the character; it runs
// after `npm install` and changes nothing the second time. test/channel/codec checks the fix.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// With or without its semicolon (msgpackr 1.x, which lmdb brings, has none in unpack.js).
const BUGGY = /decoder = new TextDecoder\(\)/g;
const FIXED = "decoder = new TextDecoder('utf-8', { ignoreBOM: true })";
const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules');

/** Every directory named msgpackr under node_modules, nested ones included. */
function packages(dir, out = []) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!e.isDirectory() || e.name === '.bin') continue;
    const p = join(dir, e.name);
    if (e.name === 'msgpackr') out.push(p);
    else if (e.name.startsWith('@')) packages(p, out);
    else packages(join(p, 'node_modules'), out);
  }
  return out;
}

function sources(dir) {
  return readdirSync(dir)
    .filter((f) => /\.(c?js|mjs)$/.test(f))
    .map((f) => join(dir, f))
    .concat(statSync(join(dir, 'dist'), { throwIfNoEntry: false })?.isDirectory() ? sources(join(dir, 'dist')) : []);
}

let patched = 0;
for (const pkg of packages(root)) {
  for (const file of sources(pkg)) {
    const text = readFileSync(file, 'utf8');
    const fixed = text.replace(BUGGY, FIXED);
    if (fixed === text) continue;
    writeFileSync(file, fixed);
    patched++;
  }
}
if (patched > 0) console.log(`patch-msgpackr: ${patched} file(s) now keep a leading U+FEFF in strings`);
