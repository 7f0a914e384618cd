/**
 * The exec classes (SPEC §5.4): what exec mediation finds in a command. src/mediation/exec/classify.ts finds them;
 * the profile data (profiles.ts) says what each one gets, so `policy explain` prints what exec mediation enforces.
 */
export const EXEC_CLASSES = [
  'destructive_fs',
  'pipe_to_shell',
  'privilege_escalation',
  'credential_access',
  'obfuscated',
  'unparseable',
  'network_tool',
  'inline_code',
  'background',
] as const;
export type ExecClass = (typeof EXEC_CLASSES)[number];

/** One line per class for `policy explain`; docs/exec-mediation.md lists what falls in each. */
export const EXEC_CLASS_MEANING: Readonly<Record<ExecClass, string>> = {
  destructive_fs: 'deletes or overwrites files, disks, or a file that runs later (.bashrc, .git/hooks, node_modules)',
  pipe_to_shell: 'runs code read from a pipe, a file it wrote, a download or the network',
  privilege_escalation: 'sudo, su, doas, setuid bits, namespaces, chroot',
  credential_access: 'reads a credential file, the environment, or a stored token',
  obfuscated: 'what would run cannot be read (computed names, escapes, code-loading environment)',
  unparseable: 'a shell string the parser rejects',
  network_tool: 'talks to the network (curl, ssh, git push, package installs)',
  inline_code: 'runs code in a language not parsed here (python -c, node -e), or spawns pi',
  background: 'keeps running after the call (&, nohup, setsid, crontab, detached)',
};
