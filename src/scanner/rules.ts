/**
 * The scanner's rulebook as data (SPEC §8): every rule id, its classification, the capability a finding implies
 * and a confidence. `scan --format sarif` prints this table as `tool.driver.rules`, so what is printed is what runs.
 */
import type { Capability } from '../policy/index.ts';

export const CLASSIFICATIONS = ['forbidden', 'flagged', 'safe'] as const;
export type Classification = (typeof CLASSIFICATIONS)[number];
export type Confidence = 'high' | 'medium' | 'low';

export interface RuleSpec {
  readonly id: string;
  readonly classification: Exclude<Classification, 'safe'>;
  /** The capability the behaviour needs at run time, or null when no hostcall covers it (code generation). */
  readonly capability: Capability | null;
  readonly confidence: Confidence;
  readonly summary: string;
}

const R = (
  id: string,
  classification: RuleSpec['classification'],
  capability: Capability | null,
  confidence: Confidence,
  summary: string,
): RuleSpec => ({ id, classification, capability, confidence, summary });

const TABLE: readonly RuleSpec[] = [
  R('code.eval', 'forbidden', null, 'high', 'eval runs a string as code; whatever it runs is invisible to the scan'),
  R('code.function-constructor', 'forbidden', null, 'high', 'the Function constructor (in any spelling) compiles a string into code'),
  R(
    'code.eval-constant',
    'flagged',
    null,
    'medium',
    'plainly spelled eval/Function/string timer of a constant string that was scanned in full and is clean',
  ),
  R(
    'code.generated',
    'flagged',
    null,
    'medium',
    'Function (spelled out) compiles source the code builds from its own strings and arguments, as template and schema compilers do; nothing decoded, read or downloaded feeds it',
  ),
  R(
    'code.eval-reference',
    'flagged',
    null,
    'medium',
    'eval or Function kept as a value (an intrinsics table, an alias) rather than called or handed to a call; where it is called the scanner cannot always see',
  ),
  R('code.vm', 'forbidden', null, 'high', 'node:vm compiles and runs code outside the sandbox'),
  R('native.process-binding', 'forbidden', null, 'high', 'process.binding / _linkedBinding / dlopen reach native internals'),
  R(
    'native.addon',
    'flagged',
    null,
    'high',
    'loads a native addon (.node file, bindings, node-gyp-build); the sandbox cannot load native code, so it is refused at runtime',
  ),
  R(
    'native.ffi',
    'forbidden',
    null,
    'high',
    'a foreign-function interface (koffi, ffi-napi) calls any C function of any library: system(), dlopen',
  ),
  R('process.spawn', 'flagged', 'exec', 'high', 'spawns processes (child_process and equivalents)'),
  R(
    'exec.dangerous-command',
    'forbidden',
    'exec',
    'high',
    'runs a command that pipes a download or other data into a shell, or destroys files outside its folder (exec classifier, SPEC §5.4)',
  ),
  R(
    'process.worker',
    'flagged',
    null,
    'high',
    'worker_threads / cluster would start code outside the sandbox; the sandbox refuses the import at runtime',
  ),
  R('debug.inspector', 'forbidden', null, 'high', 'node:inspector can read and rewrite any code in the process'),
  R(
    'net.raw-socket',
    'flagged',
    'http',
    'high',
    'raw sockets (net, dgram, tls, http2): no egress policy covers them; the sandbox refuses dgram, tls and http2 at runtime and lets net connect only to local sockets a net grant names',
  ),
  R(
    'fs.sensitive-write',
    'forbidden',
    'write',
    'high',
    'writes to a credential store or a place that runs later (startup files, PATH folders, git hooks, other extensions)',
  ),
  R(
    'fs.refused-write',
    'flagged',
    'write',
    'high',
    "writes pi's settings or logins, or only creates or links a never-written folder; refused at runtime (SPEC §5.6), so the feature will not work",
  ),
  R('fs.credential-read', 'flagged', 'read', 'medium', 'reads a credential file (ssh keys, cloud credentials, pi auth)'),
  R('env.bulk-read', 'flagged', 'env', 'medium', 'reads the whole environment (process.env as a value)'),
  R('net.exfiltration', 'forbidden', 'http', 'high', "sends the environment or a credential to a host that is not the credential's issuer"),
  R(
    'net.credential-to-issuer',
    'flagged',
    'http',
    'medium',
    'sends a credential to the host that issued it (the credential-issuer table, src/policy/credentialIssuers.ts)',
  ),
  R('obfuscation.encoded-literal', 'flagged', null, 'medium', 'very long encoded (base64/hex) string literal'),
  R('obfuscation.encoded-code', 'forbidden', null, 'high', 'an encoded or computed string decodes to code that does something dangerous'),
  R('obfuscation.mangled-names', 'flagged', null, 'medium', 'obfuscator-style identifiers (_0x…) or packed code'),
  R('obfuscation.invisible-chars', 'flagged', null, 'medium', 'bidirectional-override or zero-width characters in source'),
  R('module.dynamic-require', 'flagged', null, 'medium', 'require/import of a name the scanner cannot compute'),
  R(
    'module.loader-tamper',
    'forbidden',
    null,
    'high',
    'tampers with the module loader (require.cache, Module._load, Module.prototype.require)',
  ),
  R('proto.pollution', 'forbidden', null, 'high', 'writes to a shared prototype (__proto__, constructor.prototype, Object.prototype)'),
  R(
    'proto.replace',
    'flagged',
    null,
    'low',
    "replaces one object's own prototype (x.__proto__ = …, what Object.setPrototypeOf does); no shared prototype changes",
  ),
  R('package.install-script', 'flagged', 'exec', 'high', 'package.json runs an install script (preinstall/install/postinstall/prepare)'),
  R(
    'load.outside-package',
    'forbidden',
    null,
    'high',
    "imports a file outside the extension's package (a host file would be built into it); the loader refuses it",
  ),
  R('scan.input', 'forbidden', null, 'high', 'a file could not be read or parsed; unscanned code is not safe'),
  R('scan.unresolved-import', 'flagged', null, 'low', 'a relative import could not be resolved, so its code was not scanned'),
];

export const RULES: ReadonlyMap<string, RuleSpec> = new Map(TABLE.map((r) => [r.id, r]));

export function listRules(): readonly RuleSpec[] {
  return TABLE;
}

export function rule(id: string): RuleSpec {
  const r = RULES.get(id);
  if (r === undefined) throw new Error(`unknown scanner rule ${id}`);
  return r;
}
