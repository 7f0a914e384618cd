#!/usr/bin/env node
// Entry point of the `pi-warden` command. The compiled CLI lives in dist/ (built by `npm ci` via `prepare`).
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(
    `pi-warden: needs Node.js >= 22.19 (pi's floor), found ${process.versions.node}; inside this repository use \`npx pi-warden\`, which runs the pinned Node 24\n`,
  );
  process.exit(2);
}
// A closed pipe (`pi-warden ... | head`) is not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});
let main;
try {
  ({ main } = await import('../dist/cli/main.js'));
} catch (err) {
  process.stderr.write(`pi-warden: cannot load dist/cli/main.js (${err.message}); run \`npm run build\` first\n`);
  process.exit(2);
}
process.exitCode = await main(process.argv);
