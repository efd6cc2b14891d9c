'use strict';
/** concur/travel-request: documented paths, action names, ids from ESS facts. */
const assert = require('node:assert/strict');
const { travelRequestPath, travelActionPath, normalizeTravelAction, requestIdFrom } = require('../../dist/concur/travel-request');

describe('concur/travel-request (pure)', () => {
  it('builds the documented paths with the optional userId', () => {
    assert.equal(travelRequestPath('ABC'), '/travelrequest/v4/requests/ABC');
    assert.equal(travelRequestPath('A B', 'u-1'), '/travelrequest/v4/requests/A%20B?userId=u-1');
    assert.equal(travelActionPath('ABC', 'sendback', 'u 1'), '/travelrequest/v4/requests/ABC/sendback?userId=u+1');
    assert.throws(() => travelActionPath('..', 'approve'), /dot segment/);
  });
  it('normalizes actions and finds the id in ESS facts', () => {
    assert.equal(normalizeTravelAction('Send Back'), 'sendback');
    assert.equal(normalizeTravelAction('APPROVE'), 'approve');
    assert.equal(normalizeTravelAction('cancel'), undefined);
    assert.equal(requestIdFrom(undefined, 'https://emea.api.concursolutions.com/travelrequest/v4/requests/61BA9441?x=1'), '61BA9441');
    assert.equal(requestIdFrom('X1', 'https://h/travelrequest/v4/requests/Y'), 'X1');
    assert.equal(requestIdFrom(undefined, 'https://h/other'), undefined);
  });
});
