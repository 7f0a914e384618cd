/**
 * Secret broker, names (SPEC §5.1): is an environment variable name a secret? The blocklist contains the
 * reference's original 26 exact names, 11 suffixes and 2 prefixes (research: anchor-policy-dispatch.md §4.1,
 * before its regression) and extends them with provider, cloud, CI, database-URL, registry and SSH/GPG names,
 * plus word rules (`…_SECRET_…`, `…PASSWORD`) that catch what suffixes miss. Names are compared upper-cased.
 * A numbered or qualified copy of a secret name (`OPENAI_API_KEY_2`, `GITHUB_TOKEN2`, `SLACK_TOKEN_PROD`) is a
 * secret too. Every answer says which rule decided, so an operator can see why a name is hidden.
 *
 * Short forms: `_SK` (a secret key, Stripe's `sk_live_…`) and `_PAT` (a personal access token) are secrets. `_PK`
 * is not: where it names a key it is a public or publishable one (Stripe's `pk_live_…`, meant for web pages), and
 * elsewhere it is a primary key; a private key is `_PRIVATE_KEY`/`_PRIV_KEY`/`_PRIVKEY`.
 */

/** The reference's 26 exact names. */
const REFERENCE_EXACT = [
  'ANTHROPIC_API_KEY',
  'OPENAI_API_KEY',
  'GOOGLE_API_KEY',
  'AZURE_OPENAI_API_KEY',
  'COHERE_API_KEY',
  'GROQ_API_KEY',
  'DEEPINFRA_API_KEY',
  'CEREBRAS_API_KEY',
  'OPENROUTER_API_KEY',
  'MISTRAL_API_KEY',
  'MOONSHOT_API_KEY',
  'DASHSCOPE_API_KEY',
  'DEEPSEEK_API_KEY',
  'FIREWORKS_API_KEY',
  'TOGETHER_API_KEY',
  'PERPLEXITY_API_KEY',
  'XAI_API_KEY',
  'DATABASE_URL',
  'REDIS_URL',
  'MONGODB_URI',
  'PRIVATE_KEY',
  'CARGO_REGISTRY_TOKEN',
  'NPM_TOKEN',
  'GH_TOKEN',
  'GITHUB_TOKEN',
  'AWS_ACCESS_KEY_ID',
] as const;

/** The reference's 11 suffixes and 2 prefixes. */
const REFERENCE_SUFFIXES = [
  '_API_KEY',
  '_SECRET',
  '_SECRET_KEY',
  '_ACCESS_KEY',
  '_PRIVATE_KEY',
  '_KEY_ID',
  '_PASSWORD',
  '_PASSWD',
  '_CREDENTIAL',
  '_CREDENTIALS',
  '_TOKEN',
] as const;
const REFERENCE_PREFIXES = ['AWS_SECRET_', 'AWS_SESSION_'] as const;

/** Ours: names that carry a credential but fit no pattern below. */
const EXTRA_EXACT = [
  'SSH_AUTH_SOCK',
  'GPG_AGENT_INFO',
  'GNUPGHOME',
  'PGPASSWORD',
  'PGPASSFILE',
  'MYSQL_PWD',
  'REDIS_PASSWORD',
  'DOCKER_AUTH_CONFIG',
  'NPM_CONFIG__AUTH',
  'NPM_CONFIG__AUTHTOKEN',
  'ACTIONS_ID_TOKEN_REQUEST_URL',
  'ACTIONS_RUNTIME_URL',
  'VAULT_TOKEN',
  'CONSUL_HTTP_TOKEN',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AZURE_CLIENT_CERTIFICATE_PATH',
  'GOOGLE_APPLICATION_CREDENTIALS',
  'SENTRY_DSN',
  'NETRC',
  'HEROKU_API_KEY',
  'TF_TOKEN_APP_TERRAFORM_IO',
  'CLOUDFLARE_API_TOKEN',
  'DIGITALOCEAN_ACCESS_TOKEN',
  'LINODE_TOKEN',
] as const;

const EXTRA_SUFFIXES = [
  '_APIKEY',
  '_API_TOKEN',
  '_AUTH_TOKEN',
  '_AUTHTOKEN',
  '_ACCESS_TOKEN',
  '_REFRESH_TOKEN',
  '_ID_TOKEN',
  '_SESSION_TOKEN',
  '_CLIENT_SECRET',
  '_SECRET_ACCESS_KEY',
  '_PASSPHRASE',
  '_PASS',
  '_PWD',
  '_KEY',
  '_DSN',
  '_CONNECTION_STRING',
  '_CONN_STR',
  '_CONNSTRING',
  '_WEBHOOK',
  '_WEBHOOK_URL',
  '_SIGNING_KEY',
  '_SIGNING_SECRET',
  '_ENCRYPTION_KEY',
  '_MASTER_KEY',
  '_SALT',
  '_COOKIE',
  '_JWT',
  '_BEARER',
  '_OTP',
  '_PIN',
  '_LICENSE_KEY',
  '_SERVICE_ACCOUNT',
  '_SERVICE_ACCOUNT_JSON',
  '_KEYFILE',
  '_AUTH',
  '_PAT',
  '_SK',
  '_PRIV_KEY',
  '_PRIVKEY',
] as const;
const EXTRA_PREFIXES = ['SECRET_', 'TOKEN_', 'PASSWORD_', 'PRIVATE_KEY_', 'CREDENTIALS_', 'AUTH_TOKEN_'] as const;

/** Words that mark a secret anywhere in the name, delimited by `_` or the name's ends. */
const SECRET_WORDS =
  /(^|_)(SECRET|SECRETS|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|CREDENTIALS|APIKEY|PRIVATE_KEY|ACCESS_KEY|ACCESS_TOKEN|AUTH_TOKEN|REFRESH_TOKEN|SESSION_TOKEN|BEARER_TOKEN|CLIENT_SECRET)(_|$)/;
/** Database and broker URLs carry passwords: `POSTGRES_URL`, `MY_MONGO_URI`, `AMQP_URL`, … */
const CONNECTION_URL =
  /(^|_)(DATABASE|DB|POSTGRES|POSTGRESQL|PG|MYSQL|MARIADB|MONGO|MONGODB|REDIS|AMQP|RABBITMQ|KAFKA|ELASTICSEARCH|ELASTIC|CLICKHOUSE|SUPABASE_DB|NEON|PLANETSCALE|COCKROACH)(_[A-Z0-9]+)*_(URL|URI|DSN)$/;
/** Names ending in PASSWORD with no separator (`PGPASSWORD`). */
const GLUED_PASSWORD = /PASSWORD$|PASSWD$/;
/**
 * What a second copy of a name is called: a number (`_2`, `2`) or a version, environment or rotation word. Taken
 * off the end (repeatedly) before the rules are tried again on what is left.
 */
const QUALIFIER =
  /(?:_?[0-9]+|_V[0-9]+|_(?:OLD|NEW|PREV|PREVIOUS|NEXT|CURRENT|BACKUP|PRIMARY|SECONDARY|ALT|PROD|PRODUCTION|DEV|DEVELOPMENT|STAGING|STAGE|TEST|TESTING|LIVE|LOCAL|CI))$/;

export type NameRule =
  | 'exact'
  | 'suffix'
  | 'prefix'
  | 'secret_word'
  | 'connection_url'
  | 'glued_password'
  | 'qualified'
  | 'disclosure_allowlist'
  | 'broker_disabled'
  | 'not_secret'
  | 'invalid_name';

export interface NameClassification {
  readonly name: string;
  readonly secret: boolean;
  readonly rule: NameRule;
  /** The entry that matched (the exact name, the suffix, the prefix), when there is one. */
  readonly matched?: string;
}

export interface SecretBrokerConfig {
  readonly enabled: boolean;
  readonly disclosureAllowlist: readonly string[];
}

const EXACT = new Set<string>([...REFERENCE_EXACT, ...EXTRA_EXACT]);
const SUFFIXES: readonly string[] = [...REFERENCE_SUFFIXES, ...EXTRA_SUFFIXES].sort((a, b) => b.length - a.length);
const PREFIXES: readonly string[] = [...REFERENCE_PREFIXES, ...EXTRA_PREFIXES];

export const BLOCKLIST_COUNTS = {
  reference: { exact: REFERENCE_EXACT.length, suffixes: REFERENCE_SUFFIXES.length, prefixes: REFERENCE_PREFIXES.length },
  total: { exact: EXACT.size, suffixes: SUFFIXES.length, prefixes: PREFIXES.length },
} as const;

/**
 * Classifies one variable name. A disabled broker hides nothing (the operator's explicit choice, shown by
 * `policy explain`); the disclosure allowlist is exact and case-insensitive and beats every rule.
 */
export function classifySecretName(
  name: string,
  config: SecretBrokerConfig = { enabled: true, disclosureAllowlist: [] },
): NameClassification {
  if (typeof name !== 'string' || name.length === 0 || name.length > 1024)
    return { name: String(name), secret: true, rule: 'invalid_name' };
  const upper = name.toUpperCase();
  if (!config.enabled) return { name, secret: false, rule: 'broker_disabled' };
  if (config.disclosureAllowlist.some((a) => a.toUpperCase() === upper)) return { name, secret: false, rule: 'disclosure_allowlist' };
  const direct = byRules(name, upper);
  if (direct.secret) return direct;
  // `OPENAI_API_KEY_2`: the rules again on the name without its qualifiers.
  for (let base = upper, m = QUALIFIER.exec(base); m !== null && m.index > 0; m = QUALIFIER.exec(base)) {
    base = base.slice(0, m.index);
    const c = byRules(name, base);
    if (c.secret)
      return { name, secret: true, rule: 'qualified', matched: `${base}: ${c.rule}${c.matched === undefined ? '' : ` ${c.matched}`}` };
  }
  return direct;
}

function byRules(name: string, upper: string): NameClassification {
  if (EXACT.has(upper)) return { name, secret: true, rule: 'exact', matched: upper };
  for (const s of SUFFIXES) if (upper.endsWith(s) && upper.length > s.length) return { name, secret: true, rule: 'suffix', matched: s };
  for (const p of PREFIXES) if (upper.startsWith(p)) return { name, secret: true, rule: 'prefix', matched: p };
  const word = SECRET_WORDS.exec(upper);
  if (word !== null) return { name, secret: true, rule: 'secret_word', matched: word[2] };
  if (CONNECTION_URL.test(upper)) return { name, secret: true, rule: 'connection_url' };
  if (GLUED_PASSWORD.test(upper)) return { name, secret: true, rule: 'glued_password' };
  return { name, secret: false, rule: 'not_secret' };
}
