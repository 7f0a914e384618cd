/** What an extension is: where its entries are, what it is called, what it may read as its package (ADR 0026). */
export {
  LOCATE_REASON_CODES,
  locateExtensions,
  nearestPackageFolder,
  type LocateOptions,
  type LocateReasonCode,
  type LocatedExtension,
} from './locate.ts';
