/**
 * Sensitive filesystem locations (SPEC §8, INC-4): writing to them persists code or steals access; reading the
 * credential ones and sending them out is exfiltration. Matched against the path a call builds, folded to the
 * string parts the scanner can see (`join(homedir(), '.ssh', 'authorized_keys')` → `.ssh/authorized_keys`).
 */
const STARTUP_AND_PERSISTENCE = /(^|\/)\.(bashrc|bash_profile|bash_login|profile|zshrc|zprofile|zshenv|zlogin|kshrc|cshrc|tcshrc)$|config\.fish$|(^|\/)etc\/(profile|bash\.bashrc|zsh|environment|crontab|cron\.|sudoers|rc\.local|ld\.so\.preload|systemd)|Library\/LaunchAgents|\.config\/(autostart|systemd\/user)|\/var\/spool\/cron|\.git\/hooks\//;
const CREDENTIALS = /(^|\/)\.ssh(\/|$)|authorized_keys|id_(rsa|dsa|ecdsa|ed25519)|\.aws\/(credentials|config)|(^|\/)\.npmrc$|(^|\/)\.netrc$|\.git-credentials|(^|\/)\.gitconfig$|\.docker\/config\.json|\.kube\/config|\.gnupg|\.config\/gh\/hosts\.yml|(^|\/)\.pypirc$|\.pi\/agent\/(auth|settings)\.json|\.pi\/settings\.json|(^|\/)etc\/(shadow|passwd|sudoers)|Login Data|Cookies$|\.config\/gcloud|\.azure\/|(^|\/)\.env(\.[a-z]+)?$/;

export function foldPath(parts: readonly string[]): string {
  return parts.join('/').replace(/\\/g, '/').replace(/\/{2,}/g, '/').replace(/^~\//, '/');
}

export function isSensitiveWriteTarget(path: string): boolean {
  return STARTUP_AND_PERSISTENCE.test(path) || CREDENTIALS.test(path);
}

export function isCredentialPath(path: string): boolean {
  return CREDENTIALS.test(path);
}
