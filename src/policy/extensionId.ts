/**
 * What an extension id may look like. Ids become keys of settings objects and file names, so names that
 * collide with Object.prototype (`__proto__`, `constructor`, `prototype`) and control characters are refused.
 */
export const EXTENSION_ID_PATTERN = '^(?!(__proto__|constructor|prototype)$)[A-Za-z0-9@._/:+~-]{1,200}$';
const RE = new RegExp(EXTENSION_ID_PATTERN);

export function isValidExtensionId(id: unknown): id is string {
  return typeof id === 'string' && RE.test(id);
}
