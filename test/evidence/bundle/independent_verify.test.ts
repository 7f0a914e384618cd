/* eslint-disable @typescript-eslint/no-explicit-any -- the verifier reads the file as the document describes it, untyped */
/**
 * A second verifier, written only from docs/bundle-format.md with node:crypto, importing nothing from src/: if the
 * document says enough, it accepts the good fixtures and rejects every tampered one.
 */
import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const DIR = fileURLToPath(new URL('../../fixtures/bundles/', import.meta.url));

function jcs(v: unknown): string {
  if (v === null || typeof v !== 'object') return typeof v === 'number' ? String(Object.is(v, -0) ? 0 : v) : JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(jcs).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .filter((k) => o[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${jcs(o[k])}`)
    .join(',')}}`;
}
const h = (...parts: Array<string | Buffer>): string => {
  const x = createHash('sha256');
  for (const p of parts) x.update(p);
  return x.digest('hex');
};
const node = (l: string, r: string): string => h(Buffer.from([1]), Buffer.from(l, 'hex'), Buffer.from(r, 'hex'));
const split = (n: number): number => {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
};
const ed = (key: KeyObject, text: string | Buffer, sigB64: string): boolean => {
  try {
    return verify(null, Buffer.from(text), key, Buffer.from(sigB64, 'base64'));
  } catch {
    return false;
  }
};
const isCommitment = (v: unknown): boolean =>
  typeof v === 'object' &&
  v !== null &&
  Object.keys(v).length === 1 &&
  /^[0-9a-f]{64}$/.test(String((v as { commitment?: unknown }).commitment));

// RFC 9162 §2.1.4.2.
function consistent(m: number, n: number, r1: string, r2: string, proof: string[]): boolean {
  if (m < 1 || m > n) return false;
  if (m === n) return proof.length === 0 && r1 === r2;
  const p = (m & (m - 1)) === 0 ? [r1, ...proof] : proof;
  let fn = m - 1;
  let sn = n - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  let fr = p[0] as string;
  let sr = fr;
  for (const c of p.slice(1)) {
    if (sn === 0) return false;
    if (fn & 1 || fn === sn) {
      fr = node(c, fr);
      sr = node(c, sr);
      while (!(fn & 1) && fn !== 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else sr = node(sr, c);
    fn >>= 1;
    sn >>= 1;
  }
  return fr === r1 && sr === r2 && sn === 0;
}

const REDACTS: Record<string, Array<[string, string]>> = {
  params: [
    ['ledger', 'params_hash'],
    ['telemetry', 'params_hash'],
  ],
  args_shape: [
    ['ledger', 'args_shape_hash'],
    ['telemetry', 'args_shape_hash'],
  ],
  context: [['alerts', 'summary']],
  command: [['exec_log', 'command_hash']],
  name: [['secret_broker_log', 'name_hash']],
  remediation: [['alerts', 'remediation']],
};
const SECTIONS = [
  'meta',
  'custody',
  'ledger',
  'alerts',
  'telemetry',
  'exec_log',
  'secret_broker_log',
  'quota_breaches',
  'trust_transitions',
  'risk_replay',
  'policy',
  'gaps',
  'summary',
];
const ROWS = ['alerts', 'telemetry', 'exec_log', 'secret_broker_log', 'quota_breaches', 'trust_transitions'];

/** Returns the problems found (empty: the bundle verifies). */
function independentVerify(text: string, key: KeyObject): string[] {
  const bad: string[] = [];
  const doc = JSON.parse(text) as Record<string, any>;
  const s = doc.sections as Record<string, any>;
  if (doc.schema !== 'pi.security.incident_evidence_bundle.v1') bad.push('schema');
  for (const name of SECTIONS) if (!(name in s)) bad.push(`missing ${name}`);
  const hash = h(jcs(s));
  if (hash !== doc.bundle_hash) bad.push('bundle hash');
  // DSSE over PAE, then the Statement.
  const env = doc.envelope;
  const payload = Buffer.from(env.payload, 'base64');
  const pae = Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(env.payloadType)} ${env.payloadType} ${payload.length} `), payload]);
  if (env.payloadType !== 'application/vnd.in-toto+json' || !env.signatures.some((x: { sig: string }) => ed(key, pae, x.sig)))
    bad.push('signature');
  else {
    const st = JSON.parse(payload.toString());
    if (
      st._type !== 'https://in-toto.io/Statement/v1' ||
      st.subject[0].digest.sha256 !== hash ||
      st.predicate.generated_at_ms !== s.meta?.generated_at_ms
    )
      bad.push('statement');
  }
  // Ledger: leaves, order, checkpoints, consistency, multi-leaf proof.
  const L = s.ledger;
  const redacted = new Set<string>((s.meta?.redaction ?? []).flatMap((c: string) => REDACTS[c]!.map(([sec, f]) => `${sec}.${f}`)));
  const leaves: Array<[number, string]> = [];
  L.entries.forEach((e: Record<string, unknown>, i: number) => {
    const { ledger_hash, ...body } = e;
    if (!Object.values(body).some(isCommitment) && h(Buffer.from([0]), jcs(body)) !== ledger_hash) bad.push(`leaf seq ${String(e.seq)}`);
    if (i > 0 && !((e.seq as number) > (L.entries[i - 1].seq as number))) bad.push('order');
    leaves.push([(e.seq as number) - 1, ledger_hash as string]);
    for (const [f, v] of Object.entries(e)) if (redacted.has(`ledger.${f}`) !== isCommitment(v)) bad.push(`redaction ledger.${f}`);
  });
  const cps = L.checkpoints;
  cps.forEach((c: Record<string, any>, i: number) => {
    const t = `pi-warden.ledger.checkpoint.v1\n${jcs({ key_id: c.key_id, root_hash: c.root_hash, tree_size: c.tree_size, ts_ms: c.ts_ms })}`;
    if (!ed(key, t, c.signature)) bad.push(`checkpoint ${i} signature`);
    if (i > 0 && !consistent(cps[i - 1].tree_size, c.tree_size, cps[i - 1].root_hash, c.root_hash, L.consistency[i - 1] ?? []))
      bad.push(`consistency ${i}`);
  });
  if (L.entries.length > 0) {
    const last = cps[cps.length - 1];
    let used = 0;
    let next = 0;
    const walk = (a: number, b: number): string => {
      if (next >= leaves.length || leaves[next]![0] >= b) return L.inclusion_proof[used++];
      if (b - a === 1) return leaves[next++]![1];
      const k = split(b - a);
      const left = walk(a, a + k);
      return node(left, walk(a + k, b));
    };
    let root = '';
    try {
      root = bad.includes('order') ? '' : walk(0, last.tree_size);
    } catch {
      root = '';
    }
    if (L.tree_size !== last.tree_size || root !== last.root_hash || used !== L.inclusion_proof.length || next !== leaves.length)
      bad.push('inclusion proof');
  }
  for (const [i, p] of (s.gaps?.prunes ?? []).entries()) {
    const t = `pi-warden.ledger.prune.v1\n${jcs({ anchor_hash: p.anchor_hash, frontier: p.frontier, key_id: p.key_id, pruned_through_seq: p.pruned_through_seq, ts_ms: p.ts_ms })}`;
    if (!ed(key, t, p.signature)) bad.push(`prune ${i} signature`);
  }
  // Row redaction and the summary.
  for (const r of ROWS)
    for (const row of s[r] ?? [])
      for (const [f, v] of Object.entries(row)) if (redacted.has(`${r}.${f}`) !== isCommitment(v)) bad.push(`redaction ${r}.${f}`);
  if (SECTIONS.every((n) => n in s)) {
    const decisions = { allow: 0, deny: 0, error: 0 } as Record<string, number>;
    const ext = new Set<string>();
    for (const e of L.entries) {
      decisions[e.decision] = (decisions[e.decision] ?? 0) + 1;
      ext.add(e.extension_id);
    }
    const bySeverity: Record<string, number> = {};
    for (const a of s.alerts) bySeverity[a.severity] = (bySeverity[a.severity] ?? 0) + 1;
    for (const r of ROWS) for (const row of s[r]) ext.add(row.extension_id);
    const counted = {
      ledger_entries: L.entries.length,
      decisions,
      alerts: s.alerts.length,
      alerts_by_severity: bySeverity,
      telemetry: s.telemetry.length,
      exec_log: s.exec_log.length,
      secret_broker_log: s.secret_broker_log.length,
      quota_breaches: s.quota_breaches.length,
      trust_transitions: s.trust_transitions.length,
      checkpoints: cps.length,
      prunes: s.gaps.prunes.length,
      extensions: ext.size,
    };
    if (jcs(counted) !== jcs(s.summary)) bad.push('summary');
  }
  return bad;
}

describe('an independent verifier written from docs/bundle-format.md', () => {
  const key = createPublicKey(readFileSync(join(DIR, 'public_key.pem'), 'utf8'));
  const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as { pass: string[]; fail: Record<string, string[]> };
  for (const f of expected.pass)
    it(`accepts ${f}`, () => {
      assert.deepEqual(independentVerify(readFileSync(join(DIR, f), 'utf8'), key), []);
    });
  for (const f of Object.keys(expected.fail))
    it(`rejects ${f}`, () => {
      assert.notDeepEqual(independentVerify(readFileSync(join(DIR, f), 'utf8'), key), []);
    });
});
