/**
 * pi's theme as data for the sandbox: the escape code pi's `Theme` opens each colour token with (`getFgAnsi`,
 * `getBgAnsi`), by token. The guest rebuilds `fg`, `bg`, `bold`, ... from it (guest/components.ts), so what it draws
 * has pi's colours without a handle to pi's object. Tokens are read from the theme itself (pi's versions differ).
 */
type Fn = (...args: unknown[]) => unknown;

export interface ThemeData {
  readonly name?: string;
  readonly fg: Readonly<Record<string, string>>;
  readonly bg: Readonly<Record<string, string>>;
}

const cache = new WeakMap<object, ThemeData>();

/** The colour tokens a theme holds: the keys of its private colour tables (a Map or an object). */
function tokens(table: unknown): string[] {
  if (table instanceof Map) return [...table.keys()].map(String);
  return table !== null && typeof table === 'object' ? Object.keys(table) : [];
}

/** Escape codes only: what the guest may echo back into a rendered line (and which the styling filter keeps). */
// eslint-disable-next-line no-control-regex -- matching escape sequences is the point
const SGR_ONLY = /^(?:\u001b\[[0-9;:]*m)*$/;

export function themeData(theme: unknown): ThemeData {
  if (theme === null || typeof theme !== 'object') return { fg: {}, bg: {} };
  const known = cache.get(theme);
  if (known !== undefined) return known;
  const t = theme as Record<string, unknown>;
  const read = (getter: unknown, table: unknown): Record<string, string> => {
    const out: Record<string, string> = {};
    if (typeof getter !== 'function') return out;
    for (const token of tokens(table)) {
      try {
        const code = (getter as Fn).call(theme, token);
        if (typeof code === 'string' && SGR_ONLY.test(code)) out[token] = code;
      } catch {
        // a token this theme cannot give: the guest draws it unstyled
      }
    }
    return out;
  };
  const data: ThemeData = {
    ...(typeof t.name === 'string' ? { name: t.name } : {}),
    // pi 1.x keeps the tables as fgAnsi/bgAnsi, 0.73 as fgColors/bgColors
    fg: read(t.getFgAnsi, t.fgAnsi ?? t.fgColors),
    bg: read(t.getBgAnsi, t.bgAnsi ?? t.bgColors),
  };
  cache.set(theme, data);
  return data;
}
