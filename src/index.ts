/** pi-warden's library surface. Each area's index.ts is its only public face. */
export {
  WardenError,
  isWardenError,
  EXTENSION_ERROR_CODES,
  OPERATOR_ERROR_CODES,
  type WardenErrorCode,
  type ExtensionErrorCode,
} from './errors.ts';
export * from './policy/index.ts';
export * from './dispatch/index.ts';
