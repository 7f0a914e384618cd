import { readFileSync } from 'node:fs';
import { analyzeSource } from './src/scanner/index.ts';
import { parseSync } from 'oxc-parser';
const f = 'node_modules/@earendil-works/pi-coding-agent/examples/extensions/doom-overlay/doom/build/doom.js';
const t = readFileSync(f, 'utf8');
for (let i = 0; i < 3; i++) { let a = performance.now(); analyzeSource(t, { file: f, lang: 'js' }); let b = performance.now(); parseSync('x.js', t); console.log('scan', (b - a).toFixed(1), 'parse', (performance.now() - b).toFixed(1)); }
const r = analyzeSource(t, { file: f, lang: 'js' }); console.log(r.findings.map(x=>x.ruleId+':'+x.message.slice(0,80)));
for (let i = 0; i < 30; i++) analyzeSource(t, { file: f, lang: 'js' });
