/**
 * What an extension id may look like. An id is the extension's source (issue 15 item 6): `npm:<name>`,
 * `git:<host>/<path>`, or the real path of a local file or folder, so any printable character a path may hold is
 * allowed. Ids become keys of settings objects and (encoded) folder names, so names that collide with
 * Object.prototype (`__proto__`, `constructor`, `prototype`) and control characters are refused.
 */
export const EXTENSION_ID_PATTERN = '^(?!(__proto__|constructor|prototype)$)[^\\u0000-\\u001f\\u007f]{1,1024}$';
const RE = new RegExp(EXTENSION_ID_PATTERN);

export function isValidExtensionId(id: unknown): id is string {
  return typeof id === 'string' && RE.test(id);
}

/**
 * Where an extension's override lives in the settings, as a message names it: `extensionPolicy.overrides.my-ext`,
 * or `extensionPolicy.overrides["/home/u/ext/notes.ts"]` for ids that are paths or sources.
 */
export function overrideKey(extensionId: string): string {
  return /^[A-Za-z0-9_@-]+$/.test(extensionId)
    ? `extensionPolicy.overrides.${extensionId}`
    : `extensionPolicy.overrides[${JSON.stringify(extensionId)}]`;
}
