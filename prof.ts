import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, extname } from 'node:path';
import { analyzeSource } from './src/scanner/index.ts';
function sources(dir: string, out: Array<{ file: string; text: string }> = []) { for (const name of readdirSync(dir)) { const p = join(dir, name); if (statSync(p).isDirectory()) sources(p, out); else if (/^\.(ts|tsx|js)$/.test(extname(name))) out.push({ file: p, text: readFileSync(p, 'utf8') }); } return out; }
const files = sources('node_modules/@earendil-works/pi-coding-agent/examples/extensions');
for (let i = 0; i < 8; i++) for (const f of files) analyzeSource(f.text, { file: f.file, lang: f.file.endsWith('.ts') ? 'ts' : 'js' });
