// OpenID provider for the test suite, driven by tests/oidc_provider.py.
//
// Configuration comes as JSON, from the file named by OIDC_PROVIDER_CONFIG (or from the
// variable itself when it starts with "{"):
//   { "port": 0, "issuer": null, "clients": [...], "accounts": [...], "ttl": {...},
//     "token_delay_ms": 0 }
// With port 0 the system picks a free port and the issuer becomes http://127.0.0.1:<port>,
// so parallel test runs never race for a port. Once listening, one JSON line is printed:
//   {"ready": true, "issuer": "...", "port": N}
//
// The built-in devInteractions are replaced by small pages below so that unknown logins are
// refused (devInteractions accepts any login as the account id) and a user can deny consent.
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

function loadConfig() {
  const raw = process.env.OIDC_PROVIDER_CONFIG;
  if (!raw) {
    throw new Error('OIDC_PROVIDER_CONFIG is not set (a JSON file path or a JSON object)');
  }
  return JSON.parse(raw.trimStart().startsWith('{') ? raw : readFileSync(raw, 'utf8'));
}

const config = loadConfig();

const escapeHtml = (value) => String(value ?? '').replace(/[&<>"']/g, (c) => ({
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
}[c]));

const page = (title, body) => `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;

// Accounts are found by sub, or by email (case-insensitively) at the login form.
const accounts = new Map();
for (const account of config.accounts ?? []) {
  accounts.set(account.sub, account);
}
function accountByLogin(login) {
  if (accounts.has(login)) return accounts.get(login);
  const wanted = String(login).toLowerCase();
  for (const account of accounts.values()) {
    if (account.email && account.email.toLowerCase() === wanted) return account;
  }
  return undefined;
}

const CLAIM_NAMES = ['email', 'email_verified', 'name', 'given_name', 'family_name'];

async function findAccount(ctx, id) {
  const account = accounts.get(id);
  if (!account) return undefined;
  return {
    accountId: account.sub,
    async claims() {
      const claims = { sub: account.sub };
      for (const name of CLAIM_NAMES) {
        if (account[name] !== undefined && account[name] !== null) claims[name] = account[name];
      }
      return claims;
    },
  };
}

const clientTtl = new Map();
const clients = (config.clients ?? []).map((client) => {
  const { id_token_ttl: idTokenTtl, ...metadata } = client;
  if (idTokenTtl) clientTtl.set(client.client_id, idTokenTtl);
  return metadata;
});

const ttl = {
  AccessToken: 600,
  AuthorizationCode: 60,
  IdToken: 600,
  Interaction: 600,
  Session: 3600,
  Grant: 3600,
  RefreshToken: 3600,
  ...(config.ttl ?? {}),
};
const defaultIdTokenTtl = ttl.IdToken;
// A client may ask for its own ID token lifetime, so one provider can serve a short-lived case.
ttl.IdToken = (ctx, token, client) => clientTtl.get(client?.clientId) ?? defaultIdTokenTtl;

// A fresh signing key per run: relying parties must really fetch the JWKS.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' };

async function renderError(ctx, out) {
  ctx.type = 'html';
  const rows = Object.entries(out)
    .map(([key, value]) => `<p><strong>${escapeHtml(key)}</strong>: <span class="${escapeHtml(key)}">${escapeHtml(value)}</span></p>`)
    .join('');
  ctx.body = page('Error', rows);
}

async function logoutSource(ctx, form) {
  // oidc-provider's form carries the xsrf token; the buttons point at it with form=.
  ctx.body = page('Sign out', `${form}
<button type="submit" form="op.logoutForm" name="logout" value="yes">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button>`);
}

async function postLogoutSuccessSource(ctx) {
  ctx.body = page('Signed out', '<p id="signed-out">You have been signed out.</p>');
}

const server = createServer();
server.listen(config.port ?? 0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = config.issuer || `http://127.0.0.1:${port}`;

  const provider = new Provider(issuer, {
    clients,
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    },
    findAccount,
    jwks: { keys: [signingKey] },
    // Cookies are signed; they stay non-secure because the provider serves plain http.
    cookies: { keys: [randomBytes(32).toString('hex')] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name'],
    },
    scopes: ['openid', 'email', 'profile'],
    // The app reads the user's email from the ID token, not from the userinfo endpoint.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    ttl,
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
      revocation: { enabled: true },
    },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    renderError,
  });

  provider.use(interactionRoutes(provider));
  // A slow token endpoint (token_delay_ms) delivers tokens after they were minted: with a short
  // IdToken lifetime, the relying party receives an ID token that has already expired.
  const tokenDelay = Number(config.token_delay_ms ?? 0);
  if (tokenDelay > 0) {
    provider.use(async (ctx, next) => {
      await next();
      if (ctx.path === '/token') await new Promise((resolve) => setTimeout(resolve, tokenDelay));
    });
  }
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ ready: true, issuer, port })}\n`);
});

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function loginPage(uid, params, error) {
  const login = params.login_hint ? ` value="${escapeHtml(params.login_hint)}"` : '';
  return page('Sign in', `${error ? `<p class="error">${escapeHtml(error)}</p>` : ''}
<form id="login" method="post" action="/interaction/${escapeHtml(uid)}">
  <input type="hidden" name="prompt" value="login">
  <input type="text" name="login"${login}>
  <input type="password" name="password">
  <button type="submit">Sign in</button>
</form>
<form id="abort" method="post" action="/interaction/${escapeHtml(uid)}/abort">
  <button type="submit">Cancel</button>
</form>`);
}

function consentPage(uid, details) {
  const scopes = (details.missingOIDCScope ?? []).map((s) => `<li>${escapeHtml(s)}</li>`).join('');
  return page('Authorize', `<ul>${scopes}</ul>
<form id="consent" method="post" action="/interaction/${escapeHtml(uid)}">
  <input type="hidden" name="prompt" value="consent">
  <button type="submit">Continue</button>
</form>
<form id="abort" method="post" action="/interaction/${escapeHtml(uid)}/abort">
  <button type="submit">Deny</button>
</form>`);
}

async function grantConsent(provider, interaction) {
  const { grantId, session, params, prompt: { details } } = interaction;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
  if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(details.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  return grant.save();
}

function interactionRoutes(provider) {
  return async function interactions(ctx, next) {
    const match = /^\/interaction\/([^/]+)(\/abort)?$/.exec(ctx.path);
    if (!match) return next();
    ctx.set('Cache-Control', 'no-store');
    const interaction = await provider.interactionDetails(ctx.req, ctx.res);
    const { uid, prompt, params } = interaction;
    let result;

    if (ctx.method === 'GET' && !match[2]) {
      ctx.type = 'html';
      ctx.body = prompt.name === 'login' ? loginPage(uid, params) : consentPage(uid, prompt.details);
      return undefined;
    }
    if (ctx.method !== 'POST') ctx.throw(405);

    if (match[2]) {
      result = { error: 'access_denied', error_description: 'End-User aborted interaction' };
    } else {
      const form = await readForm(ctx.req);
      if (form.get('prompt') !== prompt.name) ctx.throw(400, `expected the ${prompt.name} prompt`);
      if (prompt.name === 'login') {
        const account = accountByLogin(form.get('login') ?? '');
        const password = form.get('password') ?? '';
        if (!account || (account.password != null && account.password !== password)) {
          ctx.status = 200;
          ctx.type = 'html';
          ctx.body = loginPage(uid, params, 'Invalid login or password.');
          return undefined;
        }
        result = { login: { accountId: account.sub } };
      } else if (prompt.name === 'consent') {
        result = { consent: { grantId: await grantConsent(provider, interaction) } };
      } else {
        ctx.throw(501, `prompt ${prompt.name} is not implemented`);
      }
    }

    const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, {
      mergeWithLastSubmission: prompt.name !== 'login',
    });
    ctx.status = 303;
    ctx.redirect(returnTo);
    return undefined;
  };
}

// Stop cleanly when the test harness terminates the process.
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}
