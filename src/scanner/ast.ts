/**
 * Typed access to oxc-parser's ESTree output. The scanner reads a few fields of many node types, so nodes are
 * handled as generic records with checked accessors rather than through the full AST type union.
 */
export interface AstNode {
  readonly type: string;
  readonly start: number;
  readonly end: number;
  readonly [key: string]: unknown;
}

export function isNode(value: unknown): value is AstNode {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}

export function child(node: AstNode, key: string): AstNode | undefined {
  const v = node[key];
  return isNode(v) ? v : undefined;
}

export function children(node: AstNode, key: string): AstNode[] {
  const v = node[key];
  return Array.isArray(v) ? v.filter(isNode) : [];
}

export function text(node: AstNode, key: string): string | undefined {
  const v = node[key];
  return typeof v === 'string' ? v : undefined;
}

/** Strips wrappers that do not change a value: parentheses, TypeScript assertions, optional chains. */
export function unwrap(node: AstNode): AstNode {
  let n = node;
  for (;;) {
    switch (n.type) {
      case 'ParenthesizedExpression':
      case 'TSAsExpression':
      case 'TSSatisfiesExpression':
      case 'TSNonNullExpression':
      case 'TSTypeAssertion':
      case 'ChainExpression':
      case 'TSInstantiationExpression': {
        const inner = child(n, 'expression');
        if (inner === undefined) return n;
        n = inner;
        break;
      }
      default:
        return n;
    }
  }
}

/** Calls `visit` for every node below `root` (depth first) with its parent; `visit` returning false skips children. */
export function walk(root: AstNode, visit: (node: AstNode, parent: AstNode | undefined) => boolean | void): void {
  const stack: AstNode[] = [root];
  const parents: Array<AstNode | undefined> = [undefined];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const parent = parents.pop();
    if (visit(node, parent) === false) continue;
    // Children are pushed in reverse so they are visited in source order (path folding depends on it).
    const first = stack.length;
    for (const key in node) {
      const v = node[key];
      if (typeof v !== 'object' || v === null) continue;
      if (Array.isArray(v)) {
        for (const item of v as unknown[]) if (isNode(item)) stack.push(item);
      } else if (isNode(v)) stack.push(v);
    }
    for (let i = first, j = stack.length - 1; i < j; i++, j--) {
      const t = stack[i]!;
      stack[i] = stack[j]!;
      stack[j] = t;
    }
    for (let i = first; i < stack.length; i++) parents.push(node);
  }
}

/** Line starts of a source text, for offset → line/column. */
export function lineIndex(source: string): Int32Array {
  const starts = [0];
  for (let i = source.indexOf('\n'); i !== -1; i = source.indexOf('\n', i + 1)) starts.push(i + 1);
  return Int32Array.from(starts);
}

export function position(lines: Int32Array, offset: number): { line: number; column: number } {
  let lo = 0;
  let hi = lines.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (lines[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, column: offset - lines[lo]! + 1 };
}
