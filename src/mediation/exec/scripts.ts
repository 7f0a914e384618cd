/**
 * Exec mediation for tools with a script language or an initial-command option: sed (`e`, `s///e`), awk
 * (`system()`, pipes, `ENVIRON`), vim (`-c ':!…'`, `+…`), less/more (`+!…`), man (`-P`), zip (`-TT`). What they
 * would run is classified in turn when it is a static string; what cannot be read is `obfuscated`.
 */
import { has, isLong, parseOptions, type OptSpec } from './options.ts';
import type { ToolCtx } from './tools.ts';

const STDIN_FILE = /^(-|\/dev\/stdin|\/dev\/fd\/\d+|\/proc\/self\/fd\/\d+)$/;

/** What a sed script runs: `e command`, `e` alone or the `s///e` flag (the pattern space as a command). */
export function sedScan(s: string): { commands: string[]; runsInput: boolean; understood: boolean } {
  const out = { commands: [] as string[], runsInput: false, understood: true };
  let i = 0;
  const n = s.length;
  const ws = () => {
    while (i < n && (s[i] === ' ' || s[i] === '\t')) i++;
  };
  const toEol = () => {
    const from = i;
    while (i < n && s[i] !== '\n') i++;
    return s.slice(from, i);
  };
  const skipDelimited = (d: string) => {
    while (i < n && s[i] !== d) i += s[i] === '\\' ? 2 : 1;
    i++;
  };
  const address = (): boolean => {
    const ch = s[i];
    if (ch !== undefined && /\d/.test(ch)) {
      while (i < n && /[\d~]/.test(s[i] as string)) i++;
      return true;
    }
    if (ch === '$') {
      i++;
      return true;
    }
    if (ch === '/' || ch === '\\') {
      const d = ch === '\\' ? (s[++i] as string) : '/';
      i++;
      skipDelimited(d);
      while (i < n && /[IM]/.test(s[i] as string)) i++;
      return true;
    }
    return false;
  };
  while (i < n) {
    ws();
    const ch = s[i];
    if (ch === undefined) break;
    if (ch === ';' || ch === '\n' || ch === '}' || ch === '{') {
      i++;
      continue;
    }
    if (ch === '#') {
      toEol();
      continue;
    }
    if (address()) {
      ws();
      if (s[i] === ',') {
        i++;
        ws();
        if (s[i] === '+' || s[i] === '~') {
          i++;
          while (i < n && /\d/.test(s[i] as string)) i++;
        } else address();
      }
    }
    ws();
    while (s[i] === '!') {
      i++;
      ws();
    }
    const cmd = s[i++];
    switch (cmd) {
      case '{':
      case '}':
      case '=':
      case 'd':
      case 'D':
      case 'g':
      case 'G':
      case 'h':
      case 'H':
      case 'n':
      case 'N':
      case 'p':
      case 'P':
      case 'x':
      case 'z':
      case 'F':
        break;
      case 'e': {
        ws();
        const line = toEol().trim();
        if (line === '') out.runsInput = true;
        else out.commands.push(line);
        break;
      }
      case 's':
      case 'y': {
        const d = s[i++];
        if (d === undefined || d === '\n' || d === '\\') return { ...out, understood: false };
        skipDelimited(d);
        skipDelimited(d);
        if (cmd === 's') {
          while (i < n && /[gpiImMe0-9]/.test(s[i] as string)) if (s[i++] === 'e') out.runsInput = true;
          if (s[i] === 'w') toEol();
        }
        break;
      }
      case 'a':
      case 'i':
      case 'c':
        while (i < n && s[i] !== '\n') i += s[i] === '\\' ? 2 : 1;
        break;
      case 'r':
      case 'R':
      case 'w':
      case 'W':
        toEol();
        break;
      case 'b':
      case 't':
      case 'T':
      case ':':
      case 'v':
        while (i < n && s[i] !== '\n' && s[i] !== ';') i++;
        break;
      case 'l':
      case 'L':
      case 'q':
      case 'Q':
        while (i < n && /[\d ]/.test(s[i] as string)) i++;
        break;
      default:
        return { ...out, understood: false };
    }
  }
  return out;
}

const SED: OptSpec = {
  flags: 'nrsuzEb',
  values: 'efl',
  optional: 'i',
  long: [
    'quiet',
    'silent',
    'debug',
    'follow-symlinks',
    'posix',
    'regexp-extended',
    'separate',
    'sandbox',
    'unbuffered',
    'null-data',
    'zero-terminated',
    'binary',
    'help',
    'version',
  ],
  longValues: ['expression', 'file', 'line-length'],
  longOptional: ['in-place'],
};
export function sed(c: ToolCtx): void {
  const p = parseOptions(c.args, SED);
  if (has(p, 'sandbox')) return;
  if (p.opts.some((o) => (o.name === 'f' || o.name === 'file') && STDIN_FILE.test(o.value ?? '')))
    c.add('obfuscated', `sed reads its script from stdin: ${c.text}`);
  const scripts = p.opts.filter((o) => o.name === 'e' || o.name === 'expression').map((o) => o.value ?? '');
  const scriptOperand = scripts.length === 0 && !has(p, 'f', 'file') && p.operands[0] !== undefined;
  if (scriptOperand) scripts.push(c.args[p.operands[0] ?? 0] ?? '');
  // In place (`-i`), the files it reads are the files it writes.
  if (has(p, 'i', 'in-place')) for (const k of p.operands.slice(scriptOperand ? 1 : 0)) c.writes(c.args[k]);
  for (const script of scripts) {
    const got = sedScan(script);
    if (!got.understood) c.add('obfuscated', `sed script not understood: ${c.text}`);
    if (got.runsInput) c.add('obfuscated', `sed runs its input as a command: ${c.text}`);
    for (const cmd of got.commands) c.shell(cmd, 'sed e');
  }
}

const AWK: OptSpec = {
  flags: 'bcCgMnNOPrsStV',
  values: 'fFvEeil',
  optional: 'dDLop',
  stopAtOperand: true,
  longValues: ['file', 'field-separator', 'assign', 'exec', 'source', 'include', 'load'],
  long: [
    'characters-as-bytes',
    'traditional',
    'copyright',
    'gen-pot',
    'bignum',
    'use-lc-numeric',
    'non-decimal-data',
    'optimize',
    'posix',
    're-interval',
    'no-optimize',
    'sandbox',
    'lint-old',
    'version',
    'help',
  ],
  longOptional: ['dump-variables', 'debug', 'lint', 'pretty-print', 'profile'],
};
export function awk(c: ToolCtx): void {
  const p = parseOptions(c.args, AWK);
  if (has(p, 'l', 'load')) c.add('obfuscated', `awk loads a library: ${c.text}`);
  if (p.opts.some((o) => (o.name === 'f' || o.name === 'file') && STDIN_FILE.test(o.value ?? '')))
    c.add('obfuscated', `awk reads its program from stdin: ${c.text}`);
  const programs = p.opts.filter((o) => o.name === 'e' || o.name === 'source').map((o) => o.value ?? '');
  if (!has(p, 'f', 'file', 'E', 'exec', 'e', 'source') && p.operands[0] !== undefined) programs.push(c.args[p.operands[0]] ?? '');
  for (const program of programs) {
    const code = program.replace(/"(\\.|[^"\\])*"/g, '""');
    if (/\bsystem\s*\(|\|&|\|\s*getline|\bprintf?\b[^;}]*\||@[A-Za-z_]\w*\s*\(/.test(code))
      c.add('obfuscated', `awk runs a command: ${c.text}`);
    if (/\bENVIRON\b/.test(code)) c.add('credential_access', `awk reads the environment: ${c.text}`);
  }
}

export function zip(c: ToolCtx): void {
  for (let i = 0; i < c.args.length; i++) {
    const w = c.args[i] as string;
    if (w.startsWith('-TT')) c.shell(w.length > 3 ? w.slice(3) : c.args[++i], 'zip -TT');
    else if (isLong(w, '--unzip-command', 5)) c.shell(w.includes('=') ? w.slice(w.indexOf('=') + 1) : c.args[++i], 'zip --unzip-command');
  }
}

/** An ex command given to vim on the command line: `:!cmd` runs a shell; only plain edits and settings pass. */
function exCommand(c: ToolCtx, raw: string | undefined): void {
  const t = (raw ?? '').replace(/^[:\s]+/, '');
  if (t.startsWith('!')) return c.shell(t.slice(1), 'vim :!');
  if (
    t === '' ||
    /^(\d+|\$|[/?].*)$/.test(t) ||
    /^(w|wq|wqa|wa|x|xa|q|qa|update|up)!?$/.test(t) ||
    /^(se|set|setl|setlocal)\s+[\w=:,.+-]*$/.test(t) ||
    (/^%?s([/#])[^|]*$/.test(t) && !t.includes('\\='))
  )
    return;
  c.add('obfuscated', `vim runs an ex command: ${c.text}`);
}
export function vim(c: ToolCtx): void {
  for (let i = 0; i < c.args.length; i++) {
    const w = c.args[i] as string;
    if (w === '-c' || w === '--cmd') exCommand(c, c.args[++i]);
    else if (w.startsWith('+')) exCommand(c, w.slice(1));
    else if (w === '-S' || w === '-u' || w === '-i' || w === '-T' || w === '-w' || w === '-W' || w === '-s') i++;
  }
}

/** less/more `+cmd`: an initial command; `!` runs a shell, `|`, `v`, `s`, `o` pipe, edit or write. */
export function pager(c: ToolCtx): void {
  for (const w of c.args) {
    if (!w.startsWith('+')) continue;
    const t = w.replace(/^\++/, '');
    if (t === '' || /^[/?]/.test(t) || /^[\dGgFRNnpe%]*$/.test(t)) continue;
    const bang = t.indexOf('!');
    if (bang >= 0) c.shell(t.slice(bang + 1), `${c.prog} +!`);
    else c.add('obfuscated', `${c.prog} runs an initial command: ${c.text}`);
  }
}

export function man(c: ToolCtx): void {
  for (let i = 0; i < c.args.length; i++) {
    const w = c.args[i] as string;
    if (w === '-P' || w === '-H') c.shell(c.args[++i], `man ${w}`);
    else if (isLong(w, '--pager', 4) || isLong(w, '--html', 4))
      c.shell(w.includes('=') ? w.slice(w.indexOf('=') + 1) : c.args[++i], 'man --pager');
  }
}
