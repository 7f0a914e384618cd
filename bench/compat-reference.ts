/**
 * The reference side of the compat differential: loads extensions with pi's own loader (jiti, in-process, no
 * sandbox) and prints what each registered as JSON. Run in a child process per pi package by bench/compat.ts,
 * with HOME and PI_CODING_AGENT_DIR pointing at an empty temp folder so no user extension is discovered.
 *   node bench/compat-reference.ts <package> <cwd> <path>...
 */
const [pkg, cwd, ...paths] = process.argv.slice(2);
const pi = (await import(pkg!)) as {
  discoverAndLoadExtensions(
    paths: string[],
    cwd: string,
    agentDir?: string,
  ): Promise<{
    extensions: Array<{
      path: string;
      tools: Map<string, { definition: { name: string; parameters?: unknown } }>;
      commands: Map<string, unknown>;
      flags: Map<string, unknown>;
      shortcuts: Map<string, unknown>;
      handlers: Map<string, unknown[]>;
      messageRenderers: Map<string, unknown>;
    }>;
    errors: Array<{ path: string; error: string }>;
  }>;
};
const out: Record<string, unknown> = {};
for (const p of paths) {
  try {
    const r = await pi.discoverAndLoadExtensions([p], cwd!, process.env.PI_CODING_AGENT_DIR);
    out[p] = {
      extensions: r.extensions.map((e) => ({
        path: e.path,
        tools: [...e.tools.values()].map((t) => ({
          name: t.definition.name,
          parameters: JSON.parse(JSON.stringify(t.definition.parameters ?? null)) as unknown,
        })),
        commands: [...e.commands.keys()],
        flags: [...e.flags.keys()],
        shortcuts: [...e.shortcuts.keys()].map(String),
        events: [...e.handlers.keys()],
        messageRenderers: [...e.messageRenderers.keys()],
      })),
      errors: r.errors.map((e) => e.error.split('\n')[0]),
    };
  } catch (err) {
    out[p] = { extensions: [], errors: [String(err instanceof Error ? err.message : err).split('\n')[0]] };
  }
}
process.stdout.write(`${JSON.stringify(out)}\n`);
// Some examples start timers or watchers at load; the reference does not wait for them.
process.exit(0);
