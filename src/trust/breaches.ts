/** Reading quota breaches (runbook INC-6): never removes them (the reference's drain emptied the queue). */
import type { DatabaseSync } from 'node:sqlite';
import type { QuotaBreach } from '../evidence/index.ts';

export function queryBreaches(db: DatabaseSync, extensionId?: string): QuotaBreach[] {
  const sql = `SELECT ts_ms, extension_id, resource, limit_value AS "limit", actual, repeats FROM quota_breaches ${extensionId === undefined ? '' : 'WHERE extension_id = ?'} ORDER BY id`;
  const rows = extensionId === undefined ? db.prepare(sql).all() : db.prepare(sql).all(extensionId);
  // A row standing for a burst of identical breaches says how many; an ordinary row keeps SPEC §7.4's five fields.
  return rows.map((r) => {
    const { repeats, ...b } = r as unknown as QuotaBreach & { repeats: number };
    return repeats > 1 ? { ...b, repeats } : b;
  });
}
