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
