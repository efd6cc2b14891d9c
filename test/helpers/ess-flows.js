'use strict';
/**
 * Flow builders for concur-ess-event-in end-to-end tests. The forwarder keeps
 * the message object (so msg._msgid, and with it the receiver's completion
 * tracking, runs through to the HTTP request that reaches the collector).
 */
function forwarder({ id, z, url, pathName, fields, wires = [] }) {
  const pick = fields.map((f) => `${JSON.stringify(f)}: msg[${JSON.stringify(f)}]`).join(', ');
  return [
    {
      id: `${id}-fn`,
      type: 'function',
      z,
      name: `forward ${pathName}`,
      func: `msg.payload = { ${pick} };\nmsg.headers = { 'content-type': 'application/json' };\nreturn msg;`,
      outputs: 1,
      wires: [[`${id}-req`]],
      x: 400,
      y: 100,
    },
    {
      id: `${id}-req`,
      type: 'http request',
      z,
      name: `to ${pathName}`,
      method: 'POST',
      ret: 'txt',
      url: `${url}${pathName}`,
      tls: '',
      persist: false,
      wires: [wires],
      x: 600,
      y: 100,
    },
  ];
}

/** An ESS receiver node with test-friendly defaults (published keys off, the test key configured). */
function essNode(over = {}) {
  return {
    id: 'ess',
    type: 'concur-ess-event-in',
    z: 'tab-ess',
    name: '',
    path: '/concur/ess',
    maxBodyKiB: 1024,
    verifySignature: true,
    keyConcur202609: false,
    keyConcur202510: false,
    keyConcur202311: false,
    keyConcur2019: false,
    extraKeys: '',
    signaturePadding: 'any',
    signatureFailureStatus: '401',
    acceptClientCertKey: false,
    clientCertMode: 'off',
    clientCertHeader: 'X-Forwarded-Client-Cert',
    allowedCNs: 'webhook.api.concursolutions.com',
    allowedSerials: '',
    headerCertIssuers: '',
    topicFilter: '',
    eventTypeFilter: '',
    dedupeHours: 72,
    durability: 'fsync',
    storeName: '',
    deadLetterMax: 100,
    completionTimeout: 120,
    maxPending: 10000,
    rejectOutput: false,
    outputs: 1,
    wires: [[]],
    x: 150,
    y: 100,
    ...over,
  };
}

const EVENT_FIELDS = ['payload', 'topic', 'eventType', 'concur'];

module.exports = { forwarder, essNode, EVENT_FIELDS };
