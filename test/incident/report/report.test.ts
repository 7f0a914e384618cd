/** The incident report from a real store: what it collects, what it leaves out, how it escapes, its phase timings. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  collectReportData,
  parseReportInput,
  renderHtml,
  renderMarkdown,
  REPORT_CSP,
  type IncidentReportInput,
} from '../../../src/incident/report/index.ts';
import { phaseTimings } from '../../../src/incident/report/phases.ts';
import { buildFixture, BYSTANDER, EXT, incidentInput, storeCounts } from './fixture.ts';

describe('collectReportData', () => {
  it("collects the incident extension's ledger entries, alerts (with store-wide ones) and trust transitions, and no other extension's", async () => {
    const f = await buildFixture();
    const data = collectReportData(f.home, f.input);
    const counts = storeCounts(f.home, EXT);
    assert.equal(data.decisions.length, counts.entries);
    assert.equal(data.alerts.length, counts.alerts);
    assert.equal(data.trust.length, counts.trust);
    assert.deepEqual(data.extensions, [EXT]);
    assert.ok(data.decisions.every((d) => d.extension_id === EXT));
    assert.ok(data.alerts.every((a) => a.extension_id === EXT || a.extension_id === ''));
    assert.ok(data.alerts.some((a) => a.extension_id === '' && a.category === 'ledger_integrity'));
    assert.deepEqual(
      data.decisions.filter((d) => d.risk_score !== null).map((d) => d.risk_score),
      [12, 40, 75],
    );
    assert.ok(data.ledger.treeSize >= counts.entries && /^[0-9a-f]{64}$/.test(data.ledger.lastHash ?? ''));
  });

  it('without an extension, shows every extension with evidence in the window', async () => {
    const f = await buildFixture(4);
    const data = collectReportData(f.home, incidentInput(Date.now(), undefined, null));
    assert.deepEqual(data.extensions, [BYSTANDER, EXT].sort());
    assert.equal(data.decisions.filter((d) => d.extension_id === BYSTANDER).length, 3);
  });

  it('keeps to the window: evidence before window.from is left out', async () => {
    const f = await buildFixture(4);
    const later = new Date(Date.now() + 60_000).toISOString();
    const data = collectReportData(f.home, { ...f.input, window: { from: later } });
    assert.deepEqual([data.decisions.length, data.alerts.length, data.trust.length], [0, 0, 0]);
  });

  it('repeats no guest-chosen method name or unknown reason code', async () => {
    const f = await buildFixture(8);
    const data = collectReportData(f.home, f.input);
    assert.ok(data.decisions.some((d) => d.method === 'unknown method'));
    assert.ok(data.decisions.some((d) => d.reason_codes.includes('unknown_reason_code')));
    assert.ok(data.alerts.some((a) => a.method === 'unknown method'));
  });
});

describe('the rendered report', () => {
  it('holds no planted secret, raw parameter, guest-chosen name or alert summary, in HTML or markdown', async () => {
    const f = await buildFixture();
    const data = collectReportData(f.home, f.input);
    const html = renderHtml(data);
    const md = renderMarkdown(data);
    for (const c of f.canaries) {
      assert.ok(!html.includes(c), `the HTML contains the canary ${c}`);
      assert.ok(!md.includes(c), `the markdown contains the canary ${c}`);
    }
  });

  it('is self-contained: no script, no inline style attribute, no URL to fetch; the CSP hash is that of its one stylesheet', async () => {
    const f = await buildFixture(8);
    const html = renderHtml(collectReportData(f.home, f.input));
    assert.doesNotMatch(html, /<script|\sstyle="|\s(src|href)=|url\(/i);
    const sheets = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1] as string);
    assert.equal(sheets.length, 1, 'one stylesheet (the charts carry none of their own)');
    const hash = createHash('sha256')
      .update(sheets[0] as string)
      .digest('base64');
    assert.ok(
      REPORT_CSP.includes(`style-src 'sha256-${hash}'`),
      `expected the CSP to allow the stylesheet's hash ${hash}, found ${REPORT_CSP}`,
    );
    assert.match(REPORT_CSP, /^default-src 'none';/);
    assert.ok(html.includes(`content="${REPORT_CSP.replaceAll("'", '&#39;')}"`));
  });

  it('escapes what the incident record says: markup in HTML, table syntax in markdown', async () => {
    const f = await buildFixture(2);
    const hostile: IncidentReportInput = {
      ...f.input,
      incident: {
        ...f.input.incident,
        id: '<script>alert(1)</script>',
        remediations: ['a | b <img src=x onerror=alert(1)>\n| injected | row |'],
      },
    };
    const data = collectReportData(f.home, hostile);
    const html = renderHtml(data);
    assert.ok(!html.includes('<script>alert(1)') && !html.includes('<img src=x'));
    assert.ok(html.includes('&#60;script&#62;alert(1)&#60;/script&#62;'));
    const md = renderMarkdown(data);
    assert.ok(md.includes('a \\| b \\<img src=x onerror=alert(1)\\> \\| injected \\| row \\|'), md);
    assert.doesNotMatch(md, /[^\\]<img/, 'every < is escaped');
  });

  it('times each phase against its SLA: met, breached, running, not started', async () => {
    const f = await buildFixture(2);
    const opened = Date.parse(f.input.incident.openedAt);
    const at = (min: number) => new Date(opened + min * 60_000).toISOString();
    const input: IncidentReportInput = {
      ...f.input,
      incident: {
        ...f.input.incident,
        phases: [
          { name: 'a', nist: 'Detect', sans: 'Identification', startedAt: at(0), endedAt: at(10), slaMs: 15 * 60_000 },
          { name: 'b', nist: 'Respond', sans: 'Containment', startedAt: at(10), endedAt: at(50), slaMs: 30 * 60_000 },
          { name: 'c', nist: 'Respond', sans: 'Eradication', startedAt: at(50), slaMs: 24 * 60 * 60_000 },
          { name: 'd', nist: 'Recover', sans: 'Recovery', slaMs: 60_000 },
        ],
      },
    };
    const data = { ...collectReportData(f.home, input), generatedMs: opened + 55 * 60_000 };
    const t = phaseTimings(data);
    assert.deepEqual(
      t.map((p) => [p.status, p.elapsedMs, p.remainingMs]),
      [
        ['met', 10 * 60_000, 5 * 60_000],
        ['breached', 40 * 60_000, -10 * 60_000],
        ['running', 5 * 60_000, 24 * 60 * 60_000 - 5 * 60_000],
        ['not started', null, null],
      ],
    );
    assert.match(renderMarkdown(data), /\| b \| Respond \| Containment \|.*\| 40m 00s \| 30m 00s \| -10m 00s \| breached \|/);
    assert.match(renderHtml(data), /<span class="breached">breached<\/span>/);
  });
});

describe('parseReportInput', () => {
  type Doc = { incident: Record<string, unknown> & { phases: Array<Record<string, unknown>>; evidence: Array<Record<string, unknown>> } };
  const good = () => JSON.parse(JSON.stringify(incidentInput(Date.UTC(2026, 11, 6), undefined))) as Doc;
  const first = <T>(xs: readonly T[]): T => xs[0] as T;

  it('accepts the fixture input as it is', () => {
    assert.deepEqual(parseReportInput(good()), incidentInput(Date.UTC(2026, 11, 6), undefined));
  });

  it('names the first wrong field with what was expected and what was found', () => {
    const cases: Array<[(v: Doc) => void, RegExp]> = [
      [(v) => (v.incident.type = 'INC-9'), /incident\.type: expected INC-1 \| .* \| INC-6, found "INC-9"/],
      [(v) => (v.incident.openedAt = 'yesterday'), /incident\.openedAt: expected an ISO 8601 time/],
      [(v) => (first(v.incident.evidence).sha256 = 'XYZ'), /incident\.evidence\[0\]\.sha256: expected 64 lowercase hex digits/],
      [(v) => (first(v.incident.phases).slaMs = -1), /incident\.phases\[0\]\.slaMs: expected a positive whole number/],
      [(v) => delete first(v.incident.phases).startedAt, /incident\.phases\[0\]\.endedAt: expected no end before the phase started/],
      [(v) => (v.incident.closedAt = '2020-01-01T00:00:00Z'), /incident\.closedAt: expected a time at or after openedAt/],
      [(v) => (v.incident.extension = ''), /incident\.extension: expected an extension id/],
      [(v) => (v.incident.remediations = 'fix it'), /incident\.remediations: expected an array/],
    ];
    for (const [spoil, message] of cases) {
      const v = good();
      spoil(v);
      assert.throws(
        () => parseReportInput(v),
        (err: Error & { code?: string }) => err.code === 'usage' && message.test(err.message),
      );
    }
  });
});
