/**
 * Who issued a credential (SPEC §8, issue 19): the credential files of the sensitive-places table (places.ts) and
 * the environment names that hold a provider's key, each with the hosts that issued it. Sending a credential to
 * its own issuer is how a provider or usage-meter extension works (flagged); sending it anywhere else is theft
 * (forbidden). A host matches an entry exactly or as a subdomain of it.
 */
import { PlaceWords } from './places.ts';

export interface CredentialIssuer {
  /** Home-relative files (`~/…`) as the places table names them; a file inside a listed folder counts. */
  readonly files: readonly string[];
  readonly env: readonly string[];
  readonly hosts: readonly string[];
}

const ANTHROPIC = ['anthropic.com', 'claude.ai'];
const OPENAI = ['openai.com', 'chatgpt.com'];
const GOOGLE = ['googleapis.com', 'google.com'];
const GITHUB = ['github.com', 'githubcopilot.com', 'githubusercontent.com'];

export const CREDENTIAL_ISSUERS: readonly CredentialIssuer[] = [
  {
    files: ['~/.claude/.credentials.json'],
    env: ['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'CLAUDE_CODE_OAUTH_TOKEN'],
    hosts: ANTHROPIC,
  },
  { files: ['~/.codex/auth.json'], env: ['OPENAI_API_KEY'], hosts: OPENAI },
  {
    files: ['~/.config/gcloud'],
    // GOOGLE_APPLICATION_CREDENTIALS names the service-account or ADC file whose tokens Google's OAuth endpoint takes.
    env: ['GEMINI_API_KEY', 'GOOGLE_API_KEY', 'GOOGLE_GENERATIVE_AI_API_KEY', 'GOOGLE_APPLICATION_CREDENTIALS'],
    hosts: GOOGLE,
  },
  {
    files: ['~/.config/gh', '~/.config/github-copilot', '~/.git-credentials'],
    env: ['GITHUB_TOKEN', 'GH_TOKEN', 'COPILOT_GITHUB_TOKEN'],
    hosts: GITHUB,
  },
  { files: ['~/.aws'], env: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'], hosts: ['amazonaws.com'] },
  { files: [], env: ['OPENROUTER_API_KEY'], hosts: ['openrouter.ai'] },
  { files: [], env: ['GROQ_API_KEY'], hosts: ['groq.com'] },
  { files: [], env: ['MISTRAL_API_KEY'], hosts: ['mistral.ai'] },
  { files: [], env: ['XAI_API_KEY'], hosts: ['x.ai'] },
  { files: [], env: ['DEEPSEEK_API_KEY'], hosts: ['deepseek.com'] },
  { files: [], env: ['CEREBRAS_API_KEY'], hosts: ['cerebras.ai'] },
  { files: [], env: ['ZAI_API_KEY'], hosts: ['z.ai'] },
  { files: [], env: ['BRIGHTDATA_API_KEY', 'BRIGHTDATA_API_TOKEN'], hosts: ['brightdata.com'] },
  { files: [], env: ['BRAVE_API_KEY'], hosts: ['brave.com'] },
  { files: [], env: ['EXA_API_KEY'], hosts: ['exa.ai'] },
  { files: [], env: ['TAVILY_API_KEY'], hosts: ['tavily.com'] },
  { files: [], env: ['PERPLEXITY_API_KEY'], hosts: ['perplexity.ai'] },
  // pi's own logins hold a token per provider it logs in to; each goes back to its provider.
  { files: ['~/.pi/agent/auth.json'], env: [], hosts: [...ANTHROPIC, ...OPENAI, ...GOOGLE, ...GITHUB] },
];

const PLACES = new PlaceWords();

function hostMatches(host: string, issuers: readonly string[]): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return issuers.some((i) => h === i || h.endsWith(`.${i}`));
}

/** The issuers of a credential file (as the scanner folds it: `~/.codex/auth.json`, `$CODEX_HOME/auth.json`). */
function fileIssuers(path: string): readonly string[] {
  const named = PLACES.entries(path).filter((e) => e.kind === 'credential');
  return CREDENTIAL_ISSUERS.filter((e) => e.files.some((f) => PLACES.entries(f).some((x) => named.includes(x)))).flatMap((e) => e.hosts);
}

/** True when the credential (`{ file }` or `{ env }`) goes to a host that issued it. Unknown: false (fail closed). */
export function sentToIssuer(credential: { readonly file: string } | { readonly env: string }, host: string | undefined): boolean {
  if (host === undefined || host === '') return false;
  const hosts =
    'file' in credential
      ? fileIssuers(credential.file)
      : CREDENTIAL_ISSUERS.filter((e) => e.env.includes(credential.env)).flatMap((e) => e.hosts);
  return hosts.length > 0 && hostMatches(host, hosts);
}

/**
 * Whether one environment variable holds a secret, by its name: a key, token, secret, password, credential, cookie
 * or session. A model name, region or zone sent in a request body is configuration (`SERPDIVE_MODEL`); the whole
 * environment, and a name the scanner cannot compute, count as secrets all the same (fail closed).
 */
export function isSecretEnvName(name: string): boolean {
  if (name === '') return true;
  if (CREDENTIAL_ISSUERS.some((e) => e.env.includes(name))) return true;
  return /(^|_)(KEY|APIKEY|TOKEN|SECRET|SECRETS|PASSWORD|PASSWD|PASS|PWD|CREDENTIALS?|COOKIES?|SESSION|AUTH|PAT|PRIVATE)(_|$)/i.test(name);
}
