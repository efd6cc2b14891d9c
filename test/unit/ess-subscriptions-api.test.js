'use strict';
/**
 * Unit tests of concur/ess-subscriptions-api: the ESS v4 subscription request
 * builders (paths and bodies as https://developer.concur.com/event-topics/index.html
 * documents them), input checks, response parsing (the docs' one-element array
 * and the swagger's object), endpoint matching, and ensureSubscription's
 * create / update / unchanged decision over a recording fake ConcurApi.
 */
const assert = require('node:assert/strict');
const m = require('../../dist/concur/ess-subscriptions-api');
const { ConcurError } = require('../../dist/concur/concur-error');

const SUB = {
  id: 'acme.approvals.prod',
  topic: 'public.concur.expense.report',
  filter: 'statusChanged',
  webHookConfig: { endpoint: 'https://nodered.example.com/concur/ess' },
};

function fakeApi(answers) {
  const calls = [];
  return {
    calls,
    apiBase: () => 'https://us2.api.concursolutions.com',
    async request(req) {
      calls.push(req);
      const a = answers[`${req.method} ${req.url}`];
      if (a instanceof Error) throw a;
      if (a === undefined) throw new Error(`unexpected ${req.method} ${req.url}`);
      return { status: 200, headers: {}, url: req.url, text: '', data: a, attempts: 1 };
    },
  };
}

describe('ESS subscription API (pure module)', () => {
  it('builds the documented requests', () => {
    assert.deepEqual(m.topicsRequest(), { method: 'GET', url: '/events/v4/topics', accept: 'application/json', correlationId: undefined });
    assert.equal(m.listRequest().url, '/events/v4/subscriptions');
    assert.equal(m.getRequest('a.b-1').url, '/events/v4/subscriptions/a.b-1');
    assert.equal(m.deleteRequest('a.b-1').method, 'DELETE');
    const put = m.putRequest(SUB, 'corr-1');
    assert.equal(put.method, 'PUT');
    assert.equal(put.url, '/events/v4/subscriptions/webhook');
    assert.equal(put.correlationId, 'corr-1');
    assert.deepEqual(put.json, SUB);
    assert.deepEqual(Object.keys(put.json), ['id', 'filter', 'topic', 'webHookConfig'], 'only the writable fields are sent');
  });

  it('refuses bad input before sending', () => {
    const bad = (raw, re) =>
      assert.throws(
        () => m.subscriptionInput(raw),
        (e) => e instanceof ConcurError && e.code === 'INVALID_INPUT' && re.test(e.message),
      );
    bad({ ...SUB, id: 'Has Upper' }, /lowercase/);
    bad({ ...SUB, id: '' }, /id is required/);
    bad({ ...SUB, topic: '' }, /topic is required/);
    bad({ ...SUB, filter: '(' }, /regular expression/);
    bad({ ...SUB, filter: 5 }, /regular expression/);
    bad({ ...SUB, webHookConfig: { endpoint: 'ftp://x/y' } }, /https/);
    bad({ ...SUB, webHookConfig: { endpoint: 'relative/path' } }, /absolute URL/);
    bad({ ...SUB, webHookConfig: { endpoint: 'https://u:p@x.example/y' } }, /user name or password/);
    assert.throws(() => m.getRequest('../x'), /not valid/);
  });

  it('fills defaults: filter ".*", flat endpoint, editor defaults', () => {
    assert.deepEqual(m.subscriptionInput({ id: 'x', topic: 't', endpoint: 'https://h/p' }), {
      id: 'x',
      filter: '.*',
      topic: 't',
      webHookConfig: { endpoint: 'https://h/p' },
    });
    assert.deepEqual(m.subscriptionInput({}, { id: 'y', topic: 't', endpoint: 'https://h/q', filter: 'a|b' }), {
      id: 'y',
      filter: 'a|b',
      topic: 't',
      webHookConfig: { endpoint: 'https://h/q' },
    });
  });

  it('parses a GET one answer as object (swagger) or one-element array (docs sample)', () => {
    const full = { ...SUB, applicationId: 'app-1', scope: '', groups: [], companyIds: ['c1'], extra: 'dropped' };
    assert.deepEqual(m.parseOneSubscription(full, SUB.id), { ...SUB, applicationId: 'app-1', scope: '', groups: [], companyIds: ['c1'] });
    assert.deepEqual(m.parseOneSubscription([full], SUB.id).companyIds, ['c1']);
    assert.equal(m.parseOneSubscription([], SUB.id), undefined);
    assert.throws(() => m.parseOneSubscription('nope', SUB.id), /not a subscription/);
    assert.deepEqual(
      m.parseSubscriptionList([full, 7, { no: 'id' }]).map((s) => s.id),
      [SUB.id],
    );
    assert.deepEqual(m.parseSubscriptionList(undefined), []);
    assert.throws(() => m.parseSubscriptionList('x'), /not a list/);
    assert.deepEqual(m.parseTopics(['public.test', { name: 'n' }, 3]), ['public.test', 'n']);
  });

  it('matches webhook URLs loosely (host case, default port, trailing slash, path case)', () => {
    assert.ok(m.sameEndpoint('https://NodeRed.Example.com:443/Concur/ESS/', 'https://nodered.example.com/concur/ess'));
    assert.ok(!m.sameEndpoint('https://nodered.example.com/concur/ess', 'https://nodered.example.com/concur/ess2'));
    assert.ok(!m.sameEndpoint('', ''));
    const list = [SUB, { ...SUB, id: 'other', webHookConfig: { endpoint: 'https://elsewhere/x' } }];
    assert.deepEqual(
      m.subscriptionsFor(list, 'https://nodered.example.com/concur/ess/').map((s) => s.id),
      [SUB.id],
    );
    assert.equal(m.subscriptionState({ ...SUB, companyIds: [] }), 'waiting-for-company');
    assert.equal(m.subscriptionState({ ...SUB, companyIds: ['c'] }), 'active');
  });

  it('ensureSubscription creates, updates only when settings differ, and leaves an equal one alone', async () => {
    let api = fakeApi({ 'GET /events/v4/subscriptions': [], 'PUT /events/v4/subscriptions/webhook': { message: 'saved' } });
    assert.equal((await m.ensureSubscription(api, SUB)).action, 'created');
    assert.deepEqual(
      api.calls.map((c) => c.method),
      ['GET', 'PUT'],
    );
    api = fakeApi({ 'GET /events/v4/subscriptions': [{ ...SUB, filter: '.*' }], 'PUT /events/v4/subscriptions/webhook': { message: 'saved' } });
    assert.equal((await m.ensureSubscription(api, SUB)).action, 'updated');
    api = fakeApi({ 'GET /events/v4/subscriptions': [{ ...SUB, companyIds: ['c'] }] });
    assert.equal((await m.ensureSubscription(api, SUB)).action, 'unchanged');
    assert.deepEqual(
      api.calls.map((c) => c.method),
      ['GET'],
    );
  });

  it('getSubscription and deleteSubscription({ missingOk }) turn a 404 into "not there"', async () => {
    const notFound = new ConcurError({ status: 404, code: 'HTTP_404', message: 'not found' });
    const api = fakeApi({ 'GET /events/v4/subscriptions/x': notFound, 'DELETE /events/v4/subscriptions/x': notFound });
    assert.equal(await m.getSubscription(api, 'x'), undefined);
    assert.deepEqual(await m.deleteSubscription(api, 'x', { missingOk: true }), { status: 404, deleted: false });
    await assert.rejects(m.deleteSubscription(api, 'x'), /** @param {ConcurError} e */ (e) => e.status === 404);
    const boom = fakeApi({ 'GET /events/v4/subscriptions/x': new ConcurError({ status: 403, code: 'HTTP_403', message: 'no scope' }) });
    await assert.rejects(m.getSubscription(boom, 'x'), /** @param {ConcurError} e */ (e) => e.status === 403);
  });
});
