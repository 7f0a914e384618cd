/** Child process for the kill -9 test: exports the store at argv[2] to argv[3] while raising an alert every few ms. */
import { insertAlert, openStore } from '../../src/evidence/index.ts';
import { FleetExporter } from '../../src/export/index.ts';

const [home, url] = process.argv.slice(2) as [string, string];
await FleetExporter.start({
  home,
  config: { url, headers: {}, protocol: 'http/json', batch: 8, spoolBytes: 4 * 1024 * 1024, source: 'settings' },
  pollMs: 10,
  retryMinMs: 10,
  retryMaxMs: 50,
  requestTimeoutMs: 2000,
});
const db = openStore(home);
process.stdout.write('ready\n');
for (let i = 0; ; i++) {
  insertAlert(db, {
    extension_id: 'ext-child',
    category: 'anomaly',
    severity: 'medium',
    summary: `child alert ${i}`,
    reason_codes: ['r'],
    remediation: 'r',
  });
  await new Promise((r) => setTimeout(r, 3));
}
