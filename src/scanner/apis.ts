/**
 * Which APIs mean what, as data: modules whose import is a finding, filesystem and network calls, loader
 * internals, builtin prototypes, pi's receivers. The rules in `analyze.ts` consult these tables; extending the
 * scanner to a new spawner or loader trick is usually one entry here plus a corpus sample.
 */
/** Modules whose import alone is a finding (the rule it triggers). */
export const MODULE_RULES: ReadonlyMap<string, string> = new Map([
  ['child_process', 'process.spawn'],
  ['execa', 'process.spawn'],
  ['cross-spawn', 'process.spawn'],
  ['shelljs', 'process.spawn'],
  ['node-pty', 'process.spawn'],
  ['@lydell/node-pty', 'process.spawn'],
  ['@homebridge/node-pty-prebuilt-multiarch', 'process.spawn'],
  ['vm', 'code.vm'],
  ['vm2', 'code.vm'],
  ['isolated-vm', 'code.vm'],
  ['repl', 'code.vm'],
  ['worker_threads', 'process.worker'],
  ['cluster', 'process.worker'],
  ['inspector', 'debug.inspector'],
  ['net', 'net.raw-socket'],
  ['dgram', 'net.raw-socket'],
  ['tls', 'net.raw-socket'],
  ['bindings', 'native.addon'],
  ['node-gyp-build', 'native.addon'],
  ['ffi-napi', 'native.ffi'],
  ['koffi', 'native.ffi'],
  ['ffi-rs', 'native.ffi'],
  ['v8', 'native.process-binding'],
]);
export const HTTP_MODULES = new Set(['http', 'https', 'http2', 'undici', 'axios', 'node-fetch', 'got', 'ky', 'superagent', 'ws']);
export const FS_MODULES = new Set(['fs', 'fs/promises', 'fs-extra', 'graceful-fs']);
export const FS_READS = new Set([
  'readFile',
  'readFileSync',
  'createReadStream',
  'readdir',
  'readdirSync',
  'stat',
  'statSync',
  'lstat',
  'lstatSync',
  'existsSync',
  'exists',
  'access',
  'accessSync',
  'opendir',
  'opendirSync',
  'readlink',
  'readlinkSync',
  'realpath',
  'realpathSync',
  'watch',
  'watchFile',
  'open',
  'openSync',
  'read',
  'readSync',
  'readJson',
  'readJsonSync',
  'glob',
  'globSync',
]);
export const FS_WRITES = new Set([
  'writeFile',
  'writeFileSync',
  'appendFile',
  'appendFileSync',
  'createWriteStream',
  'mkdir',
  'mkdirSync',
  'mkdtemp',
  'mkdtempSync',
  'rm',
  'rmSync',
  'rmdir',
  'rmdirSync',
  'unlink',
  'unlinkSync',
  'rename',
  'renameSync',
  'copyFile',
  'copyFileSync',
  'cp',
  'cpSync',
  'symlink',
  'symlinkSync',
  'link',
  'linkSync',
  'chmod',
  'chmodSync',
  'chown',
  'chownSync',
  'truncate',
  'truncateSync',
  'utimes',
  'utimesSync',
  'write',
  'writeSync',
  'outputFile',
  'outputFileSync',
  'writeJson',
  'writeJsonSync',
  'ensureDir',
  'ensureFile',
  'remove',
  'move',
  'copy',
]);
export const SPAWN_GLOBALS = new Set(['process.execve', 'Bun.spawn', 'Bun.spawnSync', 'Deno.run', 'Deno.Command#instance']);
export const LOADER_PATHS = [
  'require.cache',
  'mod:module._cache',
  'mod:module._load',
  'mod:module._resolveFilename',
  'mod:module._extensions',
  'mod:module.prototype.require',
  'mod:module.prototype._compile',
  'mod:module.wrap',
  'mod:module._compile',
  'require.extensions',
];
export const BINDING_PATHS = new Set(['process.binding', 'process._linkedBinding', 'process.dlopen']);
export const BUILTIN_PROTOTYPES = new Set([
  'Object',
  'Array',
  'Function',
  'String',
  'Number',
  'Boolean',
  'Promise',
  'RegExp',
  'Map',
  'Set',
  'Error',
  'Date',
  'Symbol',
  'JSON',
]);
/** Calls that change the object in their first argument; on a builtin prototype that is pollution. */
export const POLLUTING_CALLS = new Set([
  'Object.defineProperty',
  'Object.defineProperties',
  'Object.assign',
  'Object.setPrototypeOf',
  'Reflect.set',
  'Reflect.defineProperty',
  'Reflect.setPrototypeOf',
  'Object.prototype.__defineGetter__',
]);
export const PI_RECEIVERS = new Set(['pi', 'api', 'extensionAPI', 'extensionApi', 'ext', 'piApi']);
export const CTX_RECEIVERS = new Set(['ctx', 'context', 'extensionContext']);

/** Member names worth evaluating in `checkMember` (every other non-computed member is skipped). */
export const MEMBER_NAMES = new Set([
  'binding',
  '_linkedBinding',
  'dlopen',
  'cache',
  '_cache',
  '_load',
  '_resolveFilename',
  '_extensions',
  'require',
  '_compile',
  'wrap',
  'extensions',
  'env',
  'execve',
  'spawn',
  'spawnSync',
  'run',
  'Command',
]);

export function isSharedPrototype(path: string): boolean {
  const dot = path.indexOf('.prototype');
  return (
    path === 'FunctionPrototype' ||
    (dot > 0 && BUILTIN_PROTOTYPES.has(path.slice(0, dot)) && path.slice(dot) === '.prototype') ||
    path.endsWith('.__proto__')
  );
}
