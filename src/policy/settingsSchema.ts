/**
 * Schema of the settings pi-warden reads from pi's settings.json files (SPEC §4.3). Only `extensionPolicy` and
 * `extensionRisk` belong to us; the rest of the file is pi's and is left alone. Unknown keys inside our two
 * sections are errors: the reference silently ignored them, so a typo such as `allowDangerus` went unnoticed.
 */
import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { CAPABILITIES, type Capability } from './capabilities.ts';
import { egressSettingsProblems, HttpEgressSettings } from './egressSettings.ts';
import { EXTENSION_ID_PATTERN } from './extensionId.ts';
import { parseHostPattern } from './hostPatterns.ts';
import { netSettingsProblems } from './netGrants.ts';

const Cap = Type.Unsafe<Capability>(Type.Union(CAPABILITIES.map((c) => Type.Literal(c))));
const CapList = Type.Array(Cap, { uniqueItems: true });
const PositiveInt = Type.Integer({ minimum: 1 });
const ExtId = Type.String({ pattern: EXTENSION_ID_PATTERN });

export const QuotaSettings = Type.Object(
  {
    // At least 2: the guest's own runtime (its Node shims, pi's API, the crypto code of ADR 0037) takes about 0.7 MiB
    // of the cap before the extension allocates anything, so a 1 MiB cap stops even a small extension at random.
    memoryMb: Type.Optional(Type.Integer({ minimum: 2, maximum: 65536 })),
    cpuMsPerCall: Type.Optional(PositiveInt),
    cpuMsPerWindow: Type.Optional(PositiveInt),
    windowMs: Type.Optional(PositiveInt),
    hostcallsPerSecond: Type.Optional(PositiveInt),
    hostcallsPerMinute: Type.Optional(PositiveInt),
    wallTimeMs: Type.Optional(PositiveInt),
    outputBytes: Type.Optional(PositiveInt),
    /** In a pi session: how long one event handler may run before pi goes on without it (a gate blocks). */
    eventDeadlineMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 600_000 })),
    // One TUI component call (a frame's render, a key): pi waits for it on its event loop, so a frame is bounded
    // above (1 s of CPU already freezes the TUI) and below (a frame of five panels that all changed took 1.5 ms of
    // CPU on a loaded machine, ADR 0036; a cap near that would replace honest components at random).
    cpuMsPerFrame: Type.Optional(Type.Integer({ minimum: 10, maximum: 1000 })),
    frameHangMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 10_000 })),
    // At least a tall terminal's screen of lines (an overlay fills it) and their text with styling; at most a
    // bound that still contains a render of a million lines (its answer is copied whole on pi's event loop).
    frameLines: Type.Optional(Type.Integer({ minimum: 100, maximum: 100_000 })),
    frameBytes: Type.Optional(Type.Integer({ minimum: 65_536, maximum: 4 * 1024 * 1024 })),
  },
  { additionalProperties: false },
);

/** A granted path: absolute or under the home directory (`~/...`); relative paths would depend on the cwd. */
const GrantPath = Type.String({ pattern: '^(/|~/|~$)[^\\u0000]*$', maxLength: 4096 });
export const FsGrantSettings = Type.Object(
  {
    read: Type.Optional(Type.Array(GrantPath, { uniqueItems: true })),
    write: Type.Optional(Type.Array(GrantPath, { uniqueItems: true })),
  },
  { additionalProperties: false },
);

/** A `net` grant (ADR 0038, netGrants.ts): socket paths as fs grants name paths, loopback ports or ranges, the owner check. */
export const NetGrantSettings = Type.Object(
  {
    unix: Type.Optional(Type.Array(GrantPath, { uniqueItems: true })),
    tcpPorts: Type.Optional(
      Type.Array(Type.Union([Type.Integer({ minimum: 1, maximum: 65535 }), Type.String({ pattern: '^\\d{1,5}-\\d{1,5}$' })]), {
        uniqueItems: true,
      }),
    ),
    ownerCheck: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const OverrideSettings = Type.Object(
  {
    allow: Type.Optional(CapList),
    deny: Type.Optional(CapList),
    quota: Type.Optional(QuotaSettings),
    /** Lets this extension load although its scan verdict is forbidden (SPEC §8); no load path checks the verdict yet (issue 15). */
    allowForbiddenScan: Type.Optional(Type.Boolean()),
    /** Paths beyond the project root and the data folder (SPEC §5.5); credential stores only when named here. */
    fs: Type.Optional(FsGrantSettings),
    /** HTTP egress for this extension (SPEC §5.5); fields replace the defaults', denyHosts adds to them. */
    http: Type.Optional(HttpEgressSettings),
    /** Sockets this extension may connect to with `net` (ADR 0038); honoured in the user file only. */
    net: Type.Optional(NetGrantSettings),
  },
  { additionalProperties: false },
);

export const ExtensionPolicySettings = Type.Object(
  {
    profile: Type.Optional(Type.String()),
    allowDangerous: Type.Optional(Type.Boolean()),
    defaultCaps: Type.Optional(CapList),
    denyCaps: Type.Optional(CapList),
    overrides: Type.Optional(Type.Record(ExtId, OverrideSettings, { additionalProperties: false })),
    quota: Type.Optional(QuotaSettings),
    /** HTTP egress defaults for every extension (SPEC §5.5). */
    http: Type.Optional(HttpEgressSettings),
    /** Child processes (SPEC §5.4): `osSandbox: "off"` runs them without OS confinement; honoured in the user file only. */
    exec: Type.Optional(
      Type.Object({ osSandbox: Type.Optional(Type.Union([Type.Literal('on'), Type.Literal('off')])) }, { additionalProperties: false }),
    ),
    /** Fleet export (SPEC §11, src/export): honoured in the user file only, since it sends evidence off the machine. */
    export: Type.Optional(
      Type.Object(
        {
          otlp: Type.Optional(
            Type.Object(
              {
                endpoint: Type.Optional(Type.String({ pattern: '^https?://' })),
                /** Values may name environment variables as `${VAR}`: resolved when the exporter starts, never stored. */
                headers: Type.Optional(Type.Record(Type.String({ pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$" }), Type.String())),
                protocol: Type.Optional(Type.Union([Type.Literal('http/json'), Type.Literal('http/protobuf')])),
                batch: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
                spoolMb: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 4096 })),
              },
              { additionalProperties: false },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    secretBroker: Type.Optional(
      Type.Object(
        {
          enabled: Type.Optional(Type.Boolean()),
          disclosureAllowlist: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { uniqueItems: true })),
        },
        { additionalProperties: false },
      ),
    ),
    /** Written by pi-warden when the user answers a prompt with "always" (extension id → capability → answer). */
    promptAnswers: Type.Optional(
      Type.Record(
        ExtId,
        Type.Record(Type.String({ pattern: `^(${CAPABILITIES.join('|')})$` }), Type.Union([Type.Literal('allow'), Type.Literal('deny')]), {
          additionalProperties: false,
        }),
        { additionalProperties: false },
      ),
    ),
    /** Only honoured in the user file: lets the project file loosen the policy as well as tighten it. */
    trustProjectSettings: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

/** Ranges as the reference clamps them; out of range is an error here, not a silent clamp. */
export const ExtensionRiskSettings = Type.Object(
  {
    enabled: Type.Optional(Type.Boolean()),
    enforce: Type.Optional(Type.Boolean()),
    alpha: Type.Optional(Type.Number({ minimum: 1e-6, maximum: 0.5 })),
    windowSize: Type.Optional(Type.Integer({ minimum: 8, maximum: 4096 })),
    failClosed: Type.Optional(Type.Boolean()),
    decisionTimeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 2000 })),
    ledgerLimit: Type.Optional(Type.Integer({ minimum: 32, maximum: 20000 })),
    /** Automatic quarantine after this many unsafe (deny/terminate) decisions in a row. */
    consecutiveUnsafe: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    /** Allowlisted hosts, as egress host patterns (`*.example.com`, `api.example.com:8443`): calls to others add the non_allowlisted_host signal. */
    allowedHosts: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    rollout: Type.Optional(
      Type.Object(
        {
          sampleWindow: Type.Optional(Type.Integer({ minimum: 20, maximum: 100000 })),
          maxFalsePositiveRate: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
          maxErrorRate: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
          maxAvgLatencyUs: Type.Optional(Type.Number({ minimum: 1, maximum: 1000000 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export const SettingsFile = Type.Object({
  extensionPolicy: Type.Optional(ExtensionPolicySettings),
  extensionRisk: Type.Optional(ExtensionRiskSettings),
});

export type QuotaSettings = Static<typeof QuotaSettings>;
export type OverrideSettings = Static<typeof OverrideSettings>;
export type ExtensionPolicySettings = Static<typeof ExtensionPolicySettings>;
export type ExportSettings = NonNullable<ExtensionPolicySettings['export']>;
export type ExtensionRiskSettings = Static<typeof ExtensionRiskSettings>;
export type SettingsFile = Static<typeof SettingsFile>;

const checkSettings = Compile(SettingsFile);

export interface SettingsProblem {
  /** Dotted key path, e.g. `extensionPolicy.overrides.my-ext.allow[1]`. */
  readonly key: string;
  readonly expected: string;
  readonly actual: string;
}

function keyPath(instancePath: string): string {
  if (instancePath === '') return '(top level)';
  let out = '';
  for (const raw of instancePath.slice(1).split('/')) {
    const part = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    out += /^\d+$/.test(part) ? `[${part}]` : out === '' ? part : `.${part}`;
  }
  return out;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function valueAt(root: unknown, instancePath: string): unknown {
  let cur = root;
  if (instancePath === '') return cur;
  for (const raw of instancePath.slice(1).split('/')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[raw.replaceAll('~1', '/').replaceAll('~0', '~')];
  }
  return cur;
}

interface RawError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message: string;
}

function expectation(errors: RawError[]): string {
  const consts = errors.filter((e) => e.keyword === 'const').map((e) => JSON.stringify(e.params.allowedValue));
  if (consts.length > 0) return `one of ${consts.join(', ')}`;
  const e = errors.find((x) => x.keyword !== 'anyOf') ?? errors[0]!;
  switch (e.keyword) {
    case 'type':
      return `a value of type ${String(e.params.type)}`;
    case 'additionalProperties': {
      const extra = e.params.additionalProperties;
      return `no key ${Array.isArray(extra) ? extra.map((k) => JSON.stringify(k)).join(', ') : ''} (unknown setting)`.replace('  ', ' ');
    }
    case 'minimum':
      return `a number ≥ ${String(e.params.limit)}`;
    case 'maximum':
      return `a number ≤ ${String(e.params.limit)}`;
    case 'minLength':
      return 'a non-empty string';
    case 'uniqueItems':
      return 'a list without duplicates';
    case 'pattern':
      if (/\/(fs\/(read|write)|net\/unix)\/\d+$/.test(e.instancePath)) return 'an absolute path or one starting with ~/';
      return e.message;
    default:
      return e.message;
  }
}

/** `extensionRisk.allowedHosts` entries that are not host patterns (they would match nothing). */
function riskHostProblems(settings: unknown): SettingsProblem[] {
  const list = (settings as { extensionRisk?: { allowedHosts?: unknown } } | null)?.extensionRisk?.allowedHosts;
  if (!Array.isArray(list)) return [];
  const out: SettingsProblem[] = [];
  list.forEach((entry, i) => {
    if (typeof entry !== 'string' || entry === '') return;
    const r = parseHostPattern(entry);
    if (!r.ok) out.push({ key: `extensionRisk.allowedHosts[${i}]`, expected: r.error, actual: JSON.stringify(entry) });
  });
  return out;
}

/**
 * JSON.parse's message without the text it quotes: a settings path can be a link to a credential file, and its
 * contents must not reach an error message (issue 15).
 */
function jsonSyntaxError(message: string): string {
  if (message.startsWith('Unexpected end of JSON input')) return 'the end of the file before the JSON was complete';
  const at = /^Expected (.*?) in JSON at position (\d+)(?: \(line (\d+) column (\d+)\))?/.exec(message);
  if (at !== null)
    return `something else where JSON needs ${at[1]} (${at[3] === undefined ? `offset ${at[2]}` : `line ${at[3]} column ${at[4]}`})`;
  return 'a character that cannot appear in JSON there';
}

/** The text of a settings file as JSON, as pi reads it: a leading UTF-8 byte order mark is allowed (pi strips it). */
export function parseSettingsText(text: string): { ok: true; value: unknown } | { ok: false; problem: SettingsProblem } {
  try {
    return { ok: true, value: JSON.parse(text.startsWith('\uFEFF') ? text.slice(1) : text) };
  } catch (err) {
    return { ok: false, problem: { key: '(file)', expected: 'valid JSON', actual: jsonSyntaxError((err as Error).message) } };
  }
}

/** Validates a parsed settings file. Returns one problem per offending key, in document order. */
export function validateSettings(value: unknown): SettingsProblem[] {
  // Host patterns and CIDRs are parsed for real: a pattern is only valid if the egress check can use it.
  const semantic = [...egressSettingsProblems(value), ...riskHostProblems(value), ...netSettingsProblems(value)];
  if (checkSettings.Check(value)) return semantic;
  const byPath = new Map<string, RawError[]>();
  for (const e of checkSettings.Errors(value) as Iterable<RawError>) {
    // `schema is false` repeats the additionalProperties error of the parent with the offending child's path.
    if (e.keyword === 'boolean') continue;
    const list = byPath.get(e.instancePath) ?? [];
    list.push(e);
    byPath.set(e.instancePath, list);
  }
  const problems: SettingsProblem[] = [];
  for (const [path, errors] of byPath) {
    const extra = errors.find((e) => e.keyword === 'additionalProperties');
    if (extra !== undefined && Array.isArray(extra.params.additionalProperties)) {
      const idMap = /^\/extensionPolicy\/(overrides|promptAnswers)$/.test(path);
      for (const k of extra.params.additionalProperties as string[]) {
        const expected = idMap
          ? 'an extension id (1-200 of A-Z a-z 0-9 @ . _ / : + ~ -; not __proto__, constructor or prototype)'
          : 'no such key (unknown setting; check the spelling)';
        problems.push({ key: keyPath(`${path}/${k}`), expected, actual: describe(valueAt(value, `${path}/${k}`)) });
      }
      continue;
    }
    problems.push({ key: keyPath(path), expected: expectation(errors), actual: describe(valueAt(value, path)) });
  }
  return [...problems, ...semantic];
}
