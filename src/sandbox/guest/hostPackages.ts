/**
 * GUEST CODE. Virtual modules for the host packages (`@earendil-works/*` and `@mariozechner/*` pi-coding-agent,
 * pi-ai, pi-tui, pi-agent-core). What an extension needs to *register* is real: `defineTool`, `StringEnum`, `Type`,
 * the `create*Tool` factories (whose `execute` is the mediated `tool` hostcall), `isToolCallEventType`, the text
 * helpers of pi-tui. Everything else is an inert value (callable, constructible, every property another inert
 * value) so that imports and module-level code work.
 *
 * Partial (said here and in the README): pi-tui's basic components (`Text`, `Box`, `Container`, `Spacer`,
 * `TruncatedText`), `SelectList`, `Markdown`, `Loader`, `CancellableLoader`, key matching and pi's `DynamicBorder`,
 * `BorderedLoader` and `getMarkdownTheme` are real (tui.ts, selectList.ts, markdown.ts, loader.ts, piComponents.ts);
 * the others (`Editor`, ...) are inert and render nothing; pi-ai's direct model calls (`complete`, `stream`) reject with `denied`.
 */
import { callAsync } from './abi.ts';
import { boot } from './node/state.ts';
import { currentTheme } from './components.ts';
import { CancellableLoader, Loader } from './loader.ts';
import { Markdown } from './markdown.ts';
import { BorderedLoader, DynamicBorder } from './piComponents.ts';
import { SelectList } from './selectList.ts';
import { TUI_MEMBERS } from './tui.ts';
import { Type } from './typebox.ts';

type Opts = Record<string, unknown>;

/** A value that tolerates any use: call, new, property access, string conversion. Never thenable. */
export function inert(name: string): unknown {
  const target = function inertValue(): void {
    /* inert */
  };
  return new Proxy(target, {
    get(_t, key) {
      if (key === 'then' || key === '__esModule') return undefined;
      if (key === Symbol.toPrimitive) return () => '';
      if (key === 'toString' || key === 'valueOf') return () => '';
      if (key === 'render') return () => [];
      if (key === 'invalidate' || key === 'dispose') return () => undefined;
      if (typeof key === 'symbol') return undefined;
      return inert(`${name}.${key}`);
    },
    apply: () => inert(`${name}()`),
    construct: () => inert(`new ${name}`) as object,
    set: () => true,
  });
}

/** A module object: known members first, inert values for the rest; `__esModule` so esbuild's interop keeps it. */
function moduleOf(name: string, members: Opts): Opts {
  const base: Opts = { ...members, __esModule: true };
  const mod: Opts = new Proxy(base, {
    get(t, key) {
      if (key === 'default') return mod;
      if (typeof key === 'symbol' || key === 'then') return undefined;
      return Object.hasOwn(t, key) ? t[key] : inert(`${name}.${key}`);
    },
    has: () => true,
  });
  return mod;
}

const Key = new Proxy(
  {},
  {
    get: (_t, key) => {
      if (typeof key === 'symbol') return undefined;
      const k = String(key);
      if (['ctrl', 'alt', 'shift', 'meta', 'super', 'ctrlShift', 'ctrlAlt', 'shiftAlt'].includes(k)) {
        return (sub: string) => `${k.replace(/([A-Z])/g, '+$1').toLowerCase()}+${sub}`;
      }
      return k.replace(/([A-Z])/g, (m) => `_${m.toLowerCase()}`);
    },
  },
);

function builtinTool(name: string, description: string): (cwd?: unknown, options?: unknown) => Opts {
  return () => ({
    name,
    label: name,
    description,
    parameters: boot.builtinTools?.[name]?.parameters ?? Type.Object!({} as never),
    ...(boot.builtinTools?.[name] === undefined
      ? {}
      : { label: boot.builtinTools[name].label, description: boot.builtinTools[name].description }),
    execute: (_id: unknown, params: unknown) =>
      callAsync('tool', { name, input: params !== null && typeof params === 'object' ? params : {} }),
  });
}

function parseFrontmatter(text: string): { frontmatter: Opts; body: string } {
  const m = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?/.exec(String(text));
  if (m === null) return { frontmatter: {}, body: String(text) };
  const frontmatter: Opts = {};
  for (const line of (m[1] ?? '').split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0)
      frontmatter[line.slice(0, i).trim()] = line
        .slice(i + 1)
        .trim()
        .replace(/^["']|["']$/g, '');
  }
  return { frontmatter, body: String(text).slice(m[0].length) };
}

function truncate(fromTail: boolean) {
  return (text: string, opts?: { maxLines?: number; maxBytes?: number }) => {
    const lines = String(text).split('\n');
    const max = opts?.maxLines ?? 2000;
    const kept = lines.length <= max ? lines : fromTail ? lines.slice(-max) : lines.slice(0, max);
    const content = kept.join('\n');
    return {
      content,
      truncated: kept.length < lines.length,
      totalLines: lines.length,
      outputLines: kept.length,
      totalBytes: content.length,
      outputBytes: content.length,
      truncatedBy: kept.length < lines.length ? 'lines' : null,
    };
  };
}

/** pi's built-in tools; `parameters` come from the host at boot when it knows them (partial: else an open object). */
const BUILTIN_TOOLS: Record<string, () => Opts> = {
  read: builtinTool('read', 'Read a file'),
  bash: builtinTool('bash', 'Run a shell command'),
  edit: builtinTool('edit', 'Edit a file'),
  write: builtinTool('write', 'Write a file'),
  grep: builtinTool('grep', 'Search files'),
  find: builtinTool('find', 'Find files'),
  ls: builtinTool('ls', 'List a directory'),
};
const BUILTIN_TOOL_FACTORIES: Opts = Object.fromEntries(
  Object.entries(BUILTIN_TOOLS).flatMap(([name, make]) => {
    const cap = name === 'ls' ? 'Ls' : name[0]!.toUpperCase() + name.slice(1);
    return [
      [`create${cap}Tool`, make],
      [`create${cap}ToolDefinition`, make],
    ];
  }),
);

type ThemeFns = { fg(c: string, s: string): string } & Record<'bold' | 'italic' | 'underline' | 'strikethrough', (s: string) => string>;
const theme = () => currentTheme() as unknown as ThemeFns;
const fg = (token: string) => (s: string) => theme().fg(token, s);

/** pi's getMarkdownTheme (theme.js) on the theme pi last handed the extension; no syntax highlighting in the sandbox. */
const getMarkdownTheme = () => ({
  heading: fg('mdHeading'),
  link: fg('mdLink'),
  linkUrl: fg('mdLinkUrl'),
  code: fg('mdCode'),
  codeBlock: fg('mdCodeBlock'),
  codeBlockBorder: fg('mdCodeBlockBorder'),
  quote: fg('mdQuote'),
  quoteBorder: fg('mdQuoteBorder'),
  hr: fg('mdHr'),
  listBullet: fg('mdListBullet'),
  bold: (s: string) => theme().bold(s),
  italic: (s: string) => theme().italic(s),
  underline: (s: string) => theme().underline(s),
  strikethrough: (s: string) => theme().strikethrough(s),
});

const getSelectListTheme = () => ({
  selectedPrefix: fg('accent'),
  selectedText: fg('accent'),
  description: fg('muted'),
  scrollInfo: fg('muted'),
  noMatch: fg('muted'),
});

const isToolResult = (name: string) => (r: unknown) => (r as Opts | null)?.toolName === name;

function codingAgent(scope: string): Opts {
  return moduleOf(`${scope}/pi-coding-agent`, {
    defineTool: <T>(def: T) => def,
    isToolCallEventType: (name: string, event: unknown) => (event as Opts | null)?.toolName === name,
    isBashToolResult: isToolResult('bash'),
    isReadToolResult: isToolResult('read'),
    isEditToolResult: isToolResult('edit'),
    isWriteToolResult: isToolResult('write'),
    isGrepToolResult: isToolResult('grep'),
    isFindToolResult: isToolResult('find'),
    isLsToolResult: isToolResult('ls'),
    ...BUILTIN_TOOL_FACTORIES,
    createCodingTools: () => ['read', 'bash', 'edit', 'write'].map((n) => BUILTIN_TOOLS[n]!()),
    createReadOnlyTools: () => ['read', 'grep', 'find', 'ls'].map((n) => BUILTIN_TOOLS[n]!()),
    getAgentDir: () => `${boot.home}/.pi/agent`,
    CONFIG_DIR_NAME: '.pi',
    parseFrontmatter,
    truncateHead: truncate(false),
    truncateTail: truncate(true),
    DEFAULT_MAX_LINES: 2000,
    DEFAULT_MAX_BYTES: 50 * 1024,
    formatSize: (n: number) => (n < 1024 ? `${n}B` : n < 1048576 ? `${(n / 1024).toFixed(1)}KB` : `${(n / 1048576).toFixed(1)}MB`),
    keyHint: (key: string, description?: string) => `${key}${description === undefined ? '' : ` ${description}`}`,
    DynamicBorder,
    BorderedLoader,
    getMarkdownTheme,
    getSelectListTheme,
    VERSION: '0.0.0-sandbox',
  });
}

function modelCallDenied(): Promise<never> {
  return Promise.reject(
    Object.assign(new Error('denied: direct model calls from an extension are not available in the sandbox'), { code: 'denied' }),
  );
}

function piAi(scope: string): Opts {
  return moduleOf(`${scope}/pi-ai`, {
    Type,
    StringEnum: (values: readonly string[], options?: { description?: string; default?: string }) => ({
      type: 'string',
      enum: values,
      ...(options?.description ? { description: options.description } : {}),
      ...(options?.default ? { default: options.default } : {}),
    }),
    complete: modelCallDenied,
    completeSimple: modelCallDenied,
    stream: modelCallDenied,
    streamSimple: modelCallDenied,
    getModel: (provider: string, id: string) => ({ provider, id, name: id, api: 'unknown' }),
    getModels: () => [],
    getProviders: () => [],
  });
}

function piTui(scope: string): Opts {
  return moduleOf(`${scope}/pi-tui`, {
    ...TUI_MEMBERS,
    SelectList,
    Markdown,
    Loader,
    CancellableLoader,
    Key,
    isKeyRelease: () => false,
    fuzzyMatch: (query: string, text: string) => ({ matches: String(text).toLowerCase().includes(String(query).toLowerCase()), score: 0 }),
    fuzzyFilter: <T>(items: T[], query: string, get: (t: T) => string = String) =>
      items.filter((i) => get(i).toLowerCase().includes(String(query).toLowerCase())),
    CURSOR_MARKER: '\u001b_pi:c\u0007',
  });
}

export function hostPackage(name: string): Opts | undefined {
  const m = /^@(earendil-works|mariozechner)\/(pi-coding-agent|pi-ai|pi-tui|pi-agent-core)(\/.*)?$/.exec(name);
  if (m === null) return undefined;
  const scope = `@${m[1] ?? ''}`;
  switch (m[2]) {
    case 'pi-coding-agent':
      return codingAgent(scope);
    case 'pi-ai':
      return piAi(scope);
    case 'pi-tui':
      return piTui(scope);
    default:
      return moduleOf(`${scope}/pi-agent-core`, {});
  }
}
