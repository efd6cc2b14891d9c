'use strict';
/**
 * Issue 15 item 3, in a real Node-RED: an API node whose concur-config lacks the
 * credentials its grant needs shows a yellow "connection not configured" ring at
 * deploy (before any message), instead of a green "0 ok" that only turns red on
 * the first event. A fully configured connection keeps the green dot.
 * Badges are read over the editor's /comms websocket, as the editor sees them.
 */
const assert = require('node:assert/strict');
const { startRed } = require('../helpers/red-runtime');
const { teardown } = require('../helpers/teardown');
const { watchStatus } = require('../helpers/status-watch');

const Z = 'tab-nc';
const base = { geolocation: 'custom', baseUrl: 'http://127.0.0.1:9', tokenEndpoint: 'api' };
// Each grant with exactly one needed credential missing, and each grant complete.
const CONFIGS = [
  { id: 'rt-missing', grantType: 'refresh_token', credentials: { clientId: 'id', clientSecret: 'secret' } },
  { id: 'pw-missing', grantType: 'password', credtype: 'authtoken', credentials: { clientId: 'id', clientSecret: 'secret', username: 'company-uuid' } },
  { id: 'cc-missing', grantType: 'client_credentials', credentials: { clientId: 'id' } },
  { id: 'rt-ok', grantType: 'refresh_token', credentials: { clientId: 'id', clientSecret: 'secret', refreshToken: 'rt' } },
  {
    id: 'pw-ok',
    grantType: 'password',
    credtype: 'authtoken',
    credentials: { clientId: 'id', clientSecret: 'secret', username: 'company-uuid', password: 'request-token' },
  },
  { id: 'cc-ok', grantType: 'client_credentials', credentials: { clientId: 'id', clientSecret: 'secret' } },
];
const TYPES = ['concur-get-report-details', 'concur-post-exceptions', 'concur-workflow-action', 'concur-notifications'];

describe('API nodes show an unconfigured connection at deploy (real Node-RED)', function () {
  this.timeout(60000);
  let red;
  let watch;

  before(async () => {
    red = await startRed();
    /** @type {Record<string, any>[]} flow JSON */
    const flows = [{ id: Z, type: 'tab', label: 'not configured' }];
    for (const c of CONFIGS) flows.push({ type: 'concur-config', name: `conn ${c.id}`, ...base, ...c });
    let i = 0;
    for (const c of CONFIGS) {
      for (const type of TYPES)
        flows.push({ id: `${type}-${c.id}`, type, z: Z, server: c.id, x: 150 + (i % 4) * 200, y: 40 + Math.floor(i++ / 4) * 40, wires: [[]] });
    }
    flows.push({ id: 'no-server', type: 'concur-get-report-details', z: Z, server: '', x: 150, y: 400, wires: [[]] });
    await red.deploy(flows);
    watch = await watchStatus(red);
  });
  after(async () => {
    watch?.close();
    await teardown({ red });
  });

  for (const c of CONFIGS) {
    const missing = c.id.endsWith('-missing');
    it(`${c.grantType} grant ${missing ? 'missing a credential: yellow ring "connection not configured"' : 'fully configured: green dot'}`, async () => {
      for (const type of TYPES) {
        const s = await watch.waitFor(`${type}-${c.id}`, (b) => b.fill !== undefined);
        if (missing)
          assert.deepEqual(
            { fill: s.fill, shape: s.shape, text: s.text },
            { fill: 'yellow', shape: 'ring', text: 'connection not configured' },
            `${type} on ${c.id}`,
          );
        else assert.deepEqual({ fill: s.fill, shape: s.shape, text: s.text }, { fill: 'green', shape: 'dot', text: '0 ok' }, `${type} on ${c.id}`);
      }
    });
  }

  it('a node without a connection says so at deploy', async () => {
    const s = await watch.waitFor('no-server', (b) => b.fill !== undefined);
    assert.deepEqual({ fill: s.fill, shape: s.shape, text: s.text }, { fill: 'yellow', shape: 'ring', text: 'no connection selected' });
  });

  it('the log names what is missing, never a secret', () => {
    const log = red.log();
    assert.match(log, /"conn rt-missing" is not configured: refresh token is not set/);
    assert.match(log, /"conn pw-missing" is not configured: request token \/ password is not set/);
    assert.match(log, /"conn cc-missing" is not configured: client secret is not set/);
    assert.doesNotMatch(log, /request-token|secret"/);
  });
});
