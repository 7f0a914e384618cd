/**
 * A stack guard for the parser. oxc-parser recurses in native code; around 6,000 nested levels (parentheses,
 * unary chains, arrow or ternary chains, nested statements) it overflows the thread's stack and the whole process
 * dies with SIGSEGV — no exception to catch. A crafted file must not take the scanner down, so before parsing,
 * one linear pass estimates the nesting depth and a file above `MAX_NESTING` becomes a `scan.input` finding.
 *
 * The estimate is bracket depth plus the length of the current chain of prefix operators, arrows, ternaries,
 * assignments and control keywords (reset by `;`, `,` and `}`). Strings, comments, template text and regular
 * expressions are skipped. It over-counts rather than under-counts; benign code stays far below the limit.
 */
export const MAX_NESTING = 2000;

const CHAIN_KEYWORDS = new Set(['if', 'else', 'while', 'for', 'do', 'with', 'return', 'typeof', 'void', 'delete', 'await', 'new', 'yield']);
/** After these characters a `/` starts a regular expression, not a division. */
const REGEX_AFTER = new Set(['', '(', ',', '=', ':', '[', '!', '&', '|', '?', '{', '}', ';', '+', '-', '*', '%', '<', '>', '~', '^']);

function isIdentStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 36;
}

function isIdentPart(c: number): boolean {
  return isIdentStart(c) || (c >= 48 && c <= 57);
}

export function nestingDepth(source: string): number {
  let depth = 0;
  let chain = 0;
  let max = 0;
  let prev = '';
  const templates: number[] = [];
  const n = source.length;
  let i = 0;
  const bump = () => {
    if (depth + chain > max) max = depth + chain;
  };
  const skipTemplate = (): void => {
    // Inside template text: ends at a backtick, or enters code at `${`.
    while (i < n) {
      const c = source[i]!;
      if (c === '\\') i += 2;
      else if (c === '`') {
        i++;
        return;
      } else if (c === '$' && source[i + 1] === '{') {
        templates.push(depth);
        depth++;
        bump();
        i += 2;
        return;
      } else i++;
    }
  };
  while (i < n) {
    const c = source[i]!;
    switch (c) {
      case ' ':
      case '\t':
      case '\n':
      case '\r':
        i++;
        continue;
      case '/': {
        const next = source[i + 1];
        if (next === '/') {
          const end = source.indexOf('\n', i);
          i = end < 0 ? n : end;
          continue;
        }
        if (next === '*') {
          const end = source.indexOf('*/', i + 2);
          i = end < 0 ? n : end + 2;
          continue;
        }
        if (REGEX_AFTER.has(prev)) {
          let inClass = false;
          i++;
          while (i < n) {
            const r = source[i]!;
            if (r === '\\') i += 2;
            else {
              i++;
              if (r === '[') inClass = true;
              else if (r === ']') inClass = false;
              else if (r === '/' && !inClass) break;
              else if (r === '\n') break;
            }
          }
          prev = 'a';
          continue;
        }
        break;
      }
      case '"':
      case "'": {
        i++;
        while (i < n && source[i] !== c && source[i] !== '\n') i += source[i] === '\\' ? 2 : 1;
        i++;
        prev = 'a';
        continue;
      }
      case '`':
        i++;
        skipTemplate();
        prev = 'a';
        continue;
      case '(':
      case '[':
      case '{':
        depth++;
        bump();
        break;
      case ')':
      case ']':
        if (depth > 0) depth--;
        break;
      case '}':
        if (depth > 0) depth--;
        chain = 0;
        if (templates.length > 0 && templates[templates.length - 1] === depth) {
          templates.pop();
          i++;
          skipTemplate();
          prev = 'a';
          continue;
        }
        break;
      case ';':
      case ',':
        chain = 0;
        break;
      case '!':
      case '~':
      case '?':
      case '-':
      case '+':
      case '=':
        chain++;
        bump();
        break;
      default:
        if (isIdentStart(source.charCodeAt(i))) {
          let j = i + 1;
          while (j < n && isIdentPart(source.charCodeAt(j))) j++;
          // Keywords are 2–6 lowercase letters; most identifiers skip the set lookup.
          if (j - i >= 2 && j - i <= 6 && CHAIN_KEYWORDS.has(source.slice(i, j))) {
            chain++;
            bump();
          }
          i = j;
          prev = 'a';
          continue;
        }
    }
    prev = c;
    i++;
  }
  return max;
}
