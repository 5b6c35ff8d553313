// A real OpenID provider (oidc-provider, pinned in tests/real_clients) for the sign-in tests.
// Usage: node provider.mjs CONFIG.json   (written by tests/auth/provider.py)
// Prints "listening <issuer>" once it accepts connections. Test-only: development
// interactions (any login, any password), in-memory storage, keys from the config file.
import { readFileSync } from 'node:fs';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const module = new URL('../real_clients/node_modules/oidc-provider/lib/index.js', import.meta.url);
const { default: Provider } = await import(module.href);

const stats = { jwks: 0, introspection: 0 };
const accounts = config.accounts;

const provider = new Provider(config.issuer, {
  clients: config.clients,
  jwks: config.jwks,
  cookies: { keys: ['sign-in-tests-only'] },
  // advertised too, so clients that register themselves (RFC 7591) may name them
  scopes: ['openid', 'offline_access', ...config.scope.split(' ')],
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    registration: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (ctx, client, oneOf) => oneOf ?? undefined,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (ctx, indicator, client) => {
        const resource = config.resources[indicator];
        if (!resource) throw new Provider.errors.InvalidTarget();
        const allowed = config.client_scopes[client.clientId] ?? config.scope;
        const kid = config.client_keys[client.clientId] ?? resource.kid;
        return {
          scope: allowed,
          accessTokenTTL: 600,
          accessTokenFormat: client.clientId.includes('opaque') ? 'opaque' : 'jwt',
          jwt: { sign: { alg: config.algs[kid], kid } },
        };
      },
    },
  },
  // RFC 9068: a person's token names them (email, name) beside the subject.
  extraTokenClaims: async (ctx, token) => accounts[token.accountId] ?? undefined,
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => ({ sub: id, ...(accounts[id] ?? {}) }),
  }),
  // The person consented once: no consent screen after the first sign-in.
  loadExistingGrant: async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    return grantId ? ctx.oidc.provider.Grant.find(grantId) : undefined;
  },
  ttl: { AccessToken: 600, ClientCredentials: 600, Session: 3600, Interaction: 600, Grant: 3600 },
});

provider.use(async (ctx, next) => {
  if (ctx.path === '/test/stats') {
    ctx.body = stats;
    return;
  }
  if (ctx.path === '/jwks') stats.jwks += 1;
  if (ctx.path === '/token/introspection') stats.introspection += 1;
  await next();
});

const server = provider.listen(config.port, '127.0.0.1', () => {
  console.log(`listening ${config.issuer}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
