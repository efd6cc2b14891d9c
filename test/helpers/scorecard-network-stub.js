'use strict';
/**
 * Preloaded (`node -r`) into the node-red-dev child process so its scorecard
 * runs without network: every http(s) request to catalogue.nodered.org or
 * registry.npmjs.org is re-targeted to the loopback fixture server named by
 * SCORECARD_STUB_URL (path prefixed with the original host); any other
 * non-loopback host is sent to the server's /__blocked__/ path, which drops the
 * connection (the client sees an error) and records the attempt.
 *
 * node-red-dev 0.1.6 uses axios (follow-redirects), npm-remote-ls (request) and
 * npm-check (package-json/got); all of them call http(s).request/get through
 * the module objects at call time, so patching those four functions covers them.
 */
const http = require('node:http');
const https = require('node:https');

const target = new URL(process.env.SCORECARD_STUB_URL || 'http://127.0.0.1:9');
const STUBBED = new Set(['catalogue.nodered.org', 'registry.npmjs.org']);
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);
const originalRequest = http.request;

/** Splits Node's (url?, options?, callback?) signature into host, path, options, callback. */
function parseArgs(args) {
  let url = null;
  let options = {};
  let cb;
  for (const a of args) {
    if (typeof a === 'function') cb = a;
    else if (typeof a === 'string' || a instanceof URL) url = new URL(String(a));
    else if (a && typeof a === 'object') options = { ...options, ...a };
  }
  const host = (options.hostname || (options.host && String(options.host).replace(/:\d+$/, '')) || (url && url.hostname) || 'localhost').toLowerCase();
  const path = options.path || (url ? url.pathname + url.search : '/');
  return { url, options, cb, host, path };
}

function retarget(args) {
  const { options, cb, host, path } = parseArgs(args);
  if (LOOPBACK.has(host)) return null; // untouched
  const prefix = STUBBED.has(host) ? `/${host}` : `/__blocked__/${host}`;
  const headers = { ...(options.headers || {}) };
  // Never pass registry credentials on, not even to loopback.
  for (const k of Object.keys(headers)) if (k.toLowerCase() === 'authorization') delete headers[k];
  headers.host = `${target.hostname}:${target.port}`;
  const opts = {
    protocol: 'http:',
    hostname: target.hostname,
    port: target.port,
    method: options.method || 'GET',
    path: prefix + (path.startsWith('/') ? path : `/${path}`),
    headers,
    agent: false,
    timeout: options.timeout,
  };
  return { opts, cb };
}

function wrap(original, isGet) {
  return function stubbedRequest(...args) {
    const r = retarget(args);
    if (!r) return original.apply(this, args);
    const req = originalRequest(r.opts, r.cb);
    if (isGet) req.end();
    return req;
  };
}

http.request = wrap(http.request, false);
http.get = wrap(http.get, true);
https.request = wrap(https.request, false);
https.get = wrap(https.get, true);
