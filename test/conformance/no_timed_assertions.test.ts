/**
 * No test asserts on wall-clock time. A duration measured on a shared machine is stretched by whatever else runs
 * there (`.ci/run` once failed with `find took 8544 ms` against a 5000 ms limit), so a test that compares one with
 * a number fails for reasons that are not in the code. Bounds are tested by behaviour (the deadline's error, the
 * work budget's error, a count of work done, an abort landing mid-walk); how long they take is `npm run bench`.
 *
 * The check reads every test file's syntax tree and flags:
 * - an `assert…(…)` call with a comparison (`<`, `<=`, `>`, `>=`) one side of which reads the clock
 *   (`Date.now()`, `performance.now()`, `process.hrtime…`), names a variable that was computed from a clock
 *   read (one level of assignment in the same file, by name), or names something that says it is a duration
 *   (`elapsed`, `duration`, `took`, `latency`, or ending in `Ms`, `_ms`, `_us`);
 * - an `if` on such a comparison whose branch calls `assert.fail`.
 *
 * Its limits, on purpose: a `throw` (or `break`) under a clock comparison is how a watchdog ends a wait that never
 * finishes, so it is not flagged; a duration laundered through a function call, an object, or a variable name
 * that says nothing about time escapes it; a `setTimeout` raced against an operation as an assertion is not
 * recognised. It catches the way these assertions were actually written, not every way one could be.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const TEST_ROOT = fileURLToPath(new URL('..', import.meta.url));
const DURATION_NAME = /elapsed|duration|took|latency|Ms$|_ms$|_us$/i;
const COMPARISONS = new Set([
  ts.SyntaxKind.LessThanToken,
  ts.SyntaxKind.LessThanEqualsToken,
  ts.SyntaxKind.GreaterThanToken,
  ts.SyntaxKind.GreaterThanEqualsToken,
]);

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    // Fixtures are guest code under test, not tests.
    if (e.isDirectory()) return e.name === 'fixtures' || e.name === 'node_modules' ? [] : testFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

function isClockRead(node: ts.Node): boolean {
  if (!ts.isCallExpression(node)) return false;
  const text = node.expression.getText();
  return text === 'Date.now' || text === 'performance.now' || text.startsWith('process.hrtime');
}

function some(node: ts.Node, test: (n: ts.Node) => boolean): boolean {
  if (test(node)) return true;
  return ts.forEachChild(node, (child) => (some(child, test) ? true : undefined)) === true;
}

function isAssertCall(node: ts.Node): node is ts.CallExpression {
  if (!ts.isCallExpression(node)) return false;
  const callee = node.expression.getText();
  return callee === 'assert' || callee.startsWith('assert.') || callee.startsWith('t.assert.');
}

/** Lines (1-based) of `source` where a test asserts on a measured duration, with the offending expression. */
export function timedAssertions(source: string, fileName = 'sample.ts'): Array<{ line: number; text: string }> {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  // Variables computed from a clock read, directly or from another such variable (in source order).
  const fromClock = new Set<string>();
  // Arithmetic on the clock (`Date.now() - t0`, `Number(end - start) / 1e6`), not a value merely computed with a
  // timestamp as an argument (`decide(…, t + 2000).score`).
  const mentionsClock = (n: ts.Node): boolean => {
    if (isClockRead(n)) return true;
    if (ts.isIdentifier(n)) return fromClock.has(n.text);
    if (ts.isParenthesizedExpression(n) || ts.isAsExpression(n) || ts.isNonNullExpression(n)) return mentionsClock(n.expression);
    if (ts.isPrefixUnaryExpression(n)) return mentionsClock(n.operand);
    if (ts.isBinaryExpression(n)) return !COMPARISONS.has(n.operatorToken.kind) && (mentionsClock(n.left) || mentionsClock(n.right));
    if (ts.isCallExpression(n) && /^(Number|Math\.\w+)$/.test(n.expression.getText())) return n.arguments.some(mentionsClock);
    return false;
  };
  const collect = (n: ts.Node): void => {
    if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.initializer !== undefined && mentionsClock(n.initializer))
      fromClock.add(n.name.text);
    if (ts.isBinaryExpression(n) && n.operatorToken.kind === ts.SyntaxKind.EqualsToken && ts.isIdentifier(n.left) && mentionsClock(n.right))
      fromClock.add(n.left.text);
    ts.forEachChild(n, collect);
  };
  collect(file);
  const timed = (n: ts.Node) =>
    mentionsClock(n) || some(n, (m) => (ts.isIdentifier(m) || ts.isPrivateIdentifier(m)) && DURATION_NAME.test(m.text));
  const timedComparison = (n: ts.Node) =>
    some(n, (m) => ts.isBinaryExpression(m) && COMPARISONS.has(m.operatorToken.kind) && (timed(m.left) || timed(m.right)));
  const found: Array<{ line: number; text: string }> = [];
  const at = (n: ts.Node) => ({ line: file.getLineAndCharacterOfPosition(n.getStart()).line + 1, text: n.getText().slice(0, 160) });
  const visit = (n: ts.Node): void => {
    if (isAssertCall(n) && n.arguments.some(timedComparison)) found.push(at(n));
    else if (
      ts.isIfStatement(n) &&
      timedComparison(n.expression) &&
      some(n.thenStatement, (m) => ts.isCallExpression(m) && m.expression.getText() === 'assert.fail')
    )
      found.push(at(n));
    ts.forEachChild(n, visit);
  };
  visit(file);
  return found;
}

describe('no test asserts on wall-clock time (timing belongs in npm run bench)', () => {
  it('the check flags each way such an assertion was written here, and leaves watchdogs and counts alone', () => {
    const flagged = [
      'const t0 = Date.now(); await op(); assert.ok(Date.now() - t0 < 5000, `find took ${Date.now() - t0} ms`);',
      'const started = performance.now(); await run(); assert.ok(performance.now() - started < 2000);',
      'let t = performance.now(); const c = f(); assert.ok(c.ok && performance.now() - t < 1000);',
      'const t0 = Date.now(); await op(); const spent = Date.now() - t0; assert.ok(spent <= 10_000);',
      'const s = process.hrtime.bigint(); f(); assert.ok(process.hrtime.bigint() - s < 1000n);',
      'assert.ok(row.duration_us > 0);',
      'assert.ok(elapsed < 20, "quick");',
      'const t0 = Date.now(); await op(); if (Date.now() - t0 > 500) assert.fail("slow");',
    ];
    for (const sample of flagged) assert.equal(timedAssertions(sample).length, 1, sample);
    const allowed: string[] = [
      'const giveUp = Date.now() + 30_000; while (!ready()) { if (Date.now() > giveUp) throw new Error("never"); await tick(); }',
      'const deadline = Date.now() + 3000; while (Date.now() < deadline) { if (Date.now() > deadline + 10_000) break; }',
      'assert.ok(n <= 200 && n >= 100, `rows ${n}`);',
      'assert.ok(stoppedAfter <= 4);',
      'assert.equal(queryAlerts(db, { since: Date.now() + 60_000 }).length, 0);',
      'assert.ok(Buffer.byteLength(out) < 60 * 1024, `output ${Buffer.byteLength(out)} bytes`);',
    ];
    allowed.push('const t = Date.now(); const send = c.decide("x", t + 2000); assert.ok(send.score >= 0.4);');
    for (const sample of allowed) assert.deepEqual(timedAssertions(sample), [], sample);
  });

  it('no test file asserts on a measured duration', () => {
    const files = testFiles(TEST_ROOT);
    assert.ok(files.length > 40, `found ${files.length} test files under ${TEST_ROOT}`);
    const offences = files.flatMap((f) =>
      timedAssertions(readFileSync(f, 'utf8'), f).map((o) => `${relative(TEST_ROOT, f)}:${o.line}: ${o.text}`),
    );
    assert.deepEqual(
      offences,
      [],
      `assert on behaviour (an error code, a count of work, an abort) and time it in bench/ instead:\n${offences.join('\n')}`,
    );
  });
});
