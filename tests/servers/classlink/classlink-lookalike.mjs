// A ClassLink look-alike OpenID provider for tests and local development.
//
// It is a real OpenID Connect provider (npm `oidc-provider`) configured the
// way ClassLink's LaunchPad looks to a relying party:
//   - authorize `/oauth2/v2/auth`, token `/oauth2/v2/token` (client secret in
//     the form body: `client_secret_post`), PKCE S256 required, RS256 ID tokens;
//   - ClassLink's user info at `/v2/my/info` (UserId, TenantId, SourcedId, Role,
//     Email, LoginId, FirstName, LastName, DisplayName, BuildingId, StateId);
//   - ClassLink's own claims in the ID token, as its discovery document lists
//     them: `classLink_sourcedId`, `classLink_tenant_id`, `classLink_role` (and
//     `email`), from the signed-in account's user info, and the standard
//     profile claims `given_name` and `family_name` (FirstName, LastName);
//   - non-interactive login: whoever the test chose (POST /_test/login) is
//     signed in, and consent is granted, without a form.
// Test controls (loopback only, never in production):
//   POST /_test/accounts  {"<accountId>": {<ClassLink user info>}, ...}
//   POST /_test/login     {"accountId": "..."}
//   POST /_test/faults    {"id_token": null | "bad_signature" | "wrong_aud" |
//                          "wrong_iss" | "expired" | "wrong_nonce" | "rotated_key" |
//                          "malformed",
//                          "token": null | "hang" | "error",
//                          "classlink_claims": null | "omit",  (omit: an ID token
//                          without ClassLink's claims, so user info is needed)
//                          "userinfo": null | "other_user" | "other_tenant" | "error" |
//                                      "account:<accountId>"}
//                          (user info with another UserId than the sub, another
//                          TenantId, an HTTP 500, or another account's whole info)
//   GET  /_test/stats     counts of token and user-info requests, PKCE methods seen,
//                         and the provider's own time answering them (token_ms, userinfo_ms)
//
// Usage: node classlink-lookalike.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI
// Prints `listening <issuer>` once it accepts connections.
import Provider from 'oidc-provider';
import * as jose from 'jose';

const [port, clientId, clientSecret, redirectUri] = process.argv.slice(2);
if (!port || !clientId || !clientSecret || !redirectUri) {
  console.error('usage: classlink-lookalike.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI');
  process.exit(2);
}
process.stdout.on('error', () => {});
const issuer = `http://127.0.0.1:${port}`;

async function signingKey(kid) {
  const { privateKey, publicKey } = await jose.generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await jose.exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
  const pub = { ...(await jose.exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  return { privateKey, jwk, pub };
}
const current = await signingKey('k1');
const rotated = await signingKey('k2');
const impostor = await signingKey('k1'); // same kid, different key: a bad signature

const accounts = {};
let loginAs = null;
let faults = { id_token: null, token: null, classlink_claims: null };
// Times are the provider's own (server-side) milliseconds, summed: a benchmark
// subtracts them from a callback's time to get the relying party's own.
const stats = {
  token_requests: 0, userinfo_requests: 0, pkce_methods: [], authorizations: 0,
  token_ms: 0, userinfo_ms: 0,
};
const since = (start) => Number(process.hrtime.bigint() - start) / 1e6;

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    token_endpoint_auth_method: 'client_secret_post',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    id_token_signed_response_alg: 'RS256',
  }],
  jwks: { keys: [current.jwk] },
  routes: {
    authorization: '/oauth2/v2/auth',
    token: '/oauth2/v2/token',
    jwks: '/oauth2/v2/jwks',
    userinfo: '/oauth2/v2/userinfo',
  },
  scopes: ['openid', 'profile', 'email'],
  claims: { openid: ['sub'], profile: ['name'], email: ['email'] },
  pkce: { required: () => true },
  cookies: { keys: ['classlink-lookalike-test-only'] },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  findAccount: async (ctx, id) => accounts[id]
    ? { accountId: id, claims: async () => ({ sub: id, name: accounts[id].DisplayName, email: accounts[id].Email }) }
    : undefined,
});

async function readJson(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : {};
}

async function resign(idToken) {
  const claims = jose.decodeJwt(idToken);
  const now = Math.floor(Date.now() / 1000);
  const account = accounts[claims.sub];
  // ClassLink's subject is the user's ClassLink UserId (here, the account's).
  if (account && account.UserId !== undefined) claims.sub = String(account.UserId);
  if (account && faults.classlink_claims !== 'omit') {
    if (account.SourcedId) claims.classLink_sourcedId = account.SourcedId;
    if (account.TenantId !== undefined) claims.classLink_tenant_id = account.TenantId;
    if (account.Role) claims.classLink_role = account.Role;
    if (account.Email) claims.email = account.Email;
  }
  if (account) {
    if (account.FirstName) claims.given_name = account.FirstName;
    if (account.LastName) claims.family_name = account.LastName;
  }
  let key = current.privateKey;
  let kid = 'k1';
  switch (faults.id_token) {
    case 'wrong_aud': claims.aud = 'some-other-client'; break;
    case 'wrong_iss': claims.iss = 'https://impostor.example'; break;
    case 'expired': claims.iat = now - 7200; claims.exp = now - 3600; break;
    case 'wrong_nonce': claims.nonce = 'not-the-nonce-you-sent'; break;
    // A claim of the wrong type: the token does not parse (its value must not be logged).
    case 'malformed': claims.exp = 'leaky-claim-value'; break;
    case 'bad_signature': key = impostor.privateKey; break;
    case 'rotated_key': key = rotated.privateKey; kid = 'k2'; break;
    default: break;
  }
  return new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' }).sign(key);
}

provider.use(async (ctx, next) => {
  const path = ctx.path;
  if (path.startsWith('/_test/')) {
    if (ctx.method === 'POST' && path === '/_test/accounts') {
      Object.assign(accounts, await readJson(ctx.req));
    } else if (ctx.method === 'POST' && path === '/_test/login') {
      loginAs = (await readJson(ctx.req)).accountId;
    } else if (ctx.method === 'POST' && path === '/_test/faults') {
      faults = { id_token: null, token: null, classlink_claims: null, userinfo: null, ...(await readJson(ctx.req)) };
    } else if (ctx.method === 'GET' && path === '/_test/stats') {
      ctx.body = stats;
      return;
    } else {
      ctx.status = 404;
      return;
    }
    ctx.body = { ok: true };
    return;
  }
  if (path === '/v2/my/info') {
    const started = process.hrtime.bigint();
    stats.userinfo_requests += 1;
    const auth = ctx.get('authorization');
    const token = auth.startsWith('Bearer ') ? await provider.AccessToken.find(auth.slice(7)) : undefined;
    if (!token || !accounts[token.accountId]) {
      ctx.status = 401;
      ctx.body = { error: 'invalid_token' };
      return;
    }
    if (faults.userinfo === 'error') {
      ctx.status = 500;
      ctx.body = 'internal error';
      return;
    }
    ctx.body = accounts[token.accountId];
    // Another user's info than the token's subject, or another district's
    // (mix-ups the function must refuse).
    if (faults.userinfo === 'other_user') ctx.body = { ...ctx.body, UserId: 424242 };
    if (faults.userinfo === 'other_tenant') ctx.body = { ...ctx.body, TenantId: 777777 };
    const other = typeof faults.userinfo === 'string' && faults.userinfo.startsWith('account:')
      ? accounts[faults.userinfo.slice('account:'.length)] : undefined;
    if (other) ctx.body = other;
    stats.userinfo_ms += since(started);
    return;
  }
  if (path.startsWith('/interaction/')) {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    let result;
    if (details.prompt.name === 'login') {
      if (!loginAs || !accounts[loginAs]) {
        ctx.status = 400;
        ctx.body = 'no test account chosen (POST /_test/login)';
        return;
      }
      result = { login: { accountId: loginAs } };
    } else {
      const grant = new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
      const missing = details.prompt.details;
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      result = { consent: { grantId: await grant.save() } };
    }
    const to = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
    ctx.status = 303;
    ctx.redirect(to);
    return;
  }
  if (path === '/oauth2/v2/auth') {
    stats.authorizations += 1;
    stats.pkce_methods.push(ctx.query.code_challenge_method || null);
  }
  const started = process.hrtime.bigint();
  if (path === '/oauth2/v2/token') {
    stats.token_requests += 1;
    if (faults.token === 'hang') {
      await new Promise(() => {});
    }
    if (faults.token === 'error') {
      ctx.status = 500;
      ctx.body = 'internal error';
      return;
    }
  }
  await next();
  if (path === '/oauth2/v2/token' && ctx.body && ctx.body.id_token) {
    ctx.body = { ...ctx.body, id_token: await resign(ctx.body.id_token) };
  }
  if (path === '/oauth2/v2/token') stats.token_ms += since(started);
  if (path === '/oauth2/v2/jwks' && faults.id_token === 'rotated_key' && ctx.body && ctx.body.keys) {
    ctx.body = { keys: [...ctx.body.keys, rotated.pub] };
  }
});

provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`listening ${issuer}`);
});
