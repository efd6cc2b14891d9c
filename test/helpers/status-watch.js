'use strict';
/**
 * Watches node status badges the way the editor does: over Node-RED's /comms
 * websocket (subscribe "status/#"; Node-RED re-sends the retained badge of every
 * node on subscribe, so a badge set while the flow was being built is seen too).
 * Only for runtimes without adminAuth (startRed's default).
 */
const WebSocket = require('ws');

async function watchStatus(red, { timeoutMs = 10000 } = {}) {
  const url = red.url.replace(/^http/, 'ws') + '/comms';
  const ws = new WebSocket(url);
  const latest = new Map();
  const waiters = new Set();
  ws.on('message', (data) => {
    let list;
    try {
      list = JSON.parse(String(data));
    } catch {
      return;
    }
    for (const m of Array.isArray(list) ? list : [list]) {
      if (typeof m?.topic !== 'string' || !m.topic.startsWith('status/')) continue;
      latest.set(m.topic.slice('status/'.length), m.data || {});
    }
    for (const w of [...waiters]) w();
  });
  await /** @type {Promise<void>} */ (
    new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`comms websocket ${url} did not open`)), timeoutMs);
      ws.once('open', () => {
        clearTimeout(t);
        resolve();
      });
      ws.once('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
    })
  );
  ws.send(JSON.stringify({ subscribe: 'status/#' }));
  return {
    latest,
    /** Resolves with the node's badge once `pred(badge)` holds; rejects with the last badge seen after timeoutMs. */
    waitFor(id, pred, ms = timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const s = latest.get(id);
          if (s && pred(s)) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(s);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`status of ${id}: waited ${ms} ms, last seen ${JSON.stringify(latest.get(id))}`));
        }, ms);
        waiters.add(check);
        check();
      });
    },
    close() {
      try {
        ws.terminate();
      } catch {
        /* already closed */
      }
    },
  };
}

module.exports = { watchStatus };
