'use strict';
/** Small loopback client for the simulator tests: token grants, API calls, and fault/log shorthands. */
const { request } = require('./red-runtime');
const { tokenFingerprint } = require('../../dist/simulator/index.js');

function form(o) {
  return new URLSearchParams(o).toString();
}

async function tokenRequest(sim, fields, headers = {}) {
  const r = await request(`${sim.url}/oauth2/v0/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body: form(fields),
  });
  let json;
  try {
    json = JSON.parse(r.body);
  } catch {
    json = undefined;
  }
  return { ...r, json };
}

function clientFields(sim) {
  return { client_id: sim.credentials.clientId, client_secret: sim.credentials.clientSecret };
}

/** Company token (password grant, credtype=authtoken). */
async function companyToken(sim) {
  const c = sim.credentials;
  const r = await tokenRequest(sim, {
    grant_type: 'password',
    credtype: 'authtoken',
    username: c.companyId,
    password: c.companyRequestToken,
    ...clientFields(sim),
  });
  if (r.status !== 200) throw new Error(`company token: ${r.status} ${r.body}`);
  return r.json;
}

async function appToken(sim) {
  const r = await tokenRequest(sim, { grant_type: 'client_credentials', ...clientFields(sim) });
  if (r.status !== 200) throw new Error(`app token: ${r.status} ${r.body}`);
  return r.json;
}

/**
 * API call; `json` bodies are serialised, strings sent as is. Returns { status, headers, body, json }.
 * @param {any} sim
 * @param {string} method
 * @param {string} path
 * @param {{ token?: string, body?: string | Buffer, json?: any, headers?: Record<string, any> }} [opts]
 * @returns {Promise<{ status: number, headers: import('node:http').IncomingHttpHeaders, body: string, json: any }>}
 */
async function call(sim, method, path, { token, body, json, headers = {} } = {}) {
  const h = { ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  let payload = body;
  if (json !== undefined) {
    payload = JSON.stringify(json);
    h['Content-Type'] = h['Content-Type'] || 'application/json';
  }
  const r = await request(`${sim.url}${path}`, { method, headers: h, body: payload });
  let parsed;
  try {
    parsed = JSON.parse(r.body);
  } catch {
    parsed = undefined;
  }
  return { ...r, json: parsed };
}

/** Queues one failNext rule ({ count, status, retryAfter, pathPrefix, method, drop, expireTokens, message, geolocation }). */
function failNext(sim, rule) {
  return sim.setFaults({ failNext: [rule] });
}

/** Request log entries whose path matches `re` (the log holds method, path, query, status, correlation id, Accept…). */
function requestsTo(sim, re) {
  return sim.requests.filter((r) => re.test(r.path));
}

/** Request log entries of everything except the token endpoint. */
function apiRequests(sim) {
  return sim.requests.filter((r) => !/^\/oauth2\//i.test(r.path));
}

module.exports = { tokenRequest, companyToken, appToken, call, clientFields, form, failNext, requestsTo, apiRequests, fingerprint: tokenFingerprint };
