'use strict';
/**
 * A POST over a raw socket whose body trickles in: for tests of what a receiver
 * answers before (or instead of) reading a body.
 */
const net = require('node:net');

/**
 * Declares `length` body bytes (or sends chunked when `chunked`) and sends
 * `body` (default: `length` bytes of "a") in `chunk`-byte pieces every
 * `intervalMs`, stopping after `sendBytes` and then holding the connection
 * open. Resolves once the server's answer is complete with { status, head
 * (lower case), body, bodySentWhenAnswered }, or { status: 0 } when the socket
 * closes without an answer or `deadlineMs` passes.
 * @param {string} url
 * @param {{ path: string, headers?: Record<string, string>, length?: number, body?: Buffer, sendBytes?: number, chunk?: number,
 *   intervalMs?: number, deadlineMs?: number, chunked?: boolean }} opts
 * @returns {Promise<{ status: number, head: string, body: string, bodySentWhenAnswered?: number, reason?: string, sent?: number }>}
 */
function slowPost(url, { path, headers = {}, length, body, sendBytes, chunk = 64 * 1024, intervalMs = 20, deadlineMs = 20000, chunked = false }) {
  const u = new URL(url);
  const data = body || Buffer.alloc(length, 0x61);
  const total = chunked ? data.length : length;
  const limit = sendBytes === undefined ? data.length : Math.min(sendBytes, data.length);
  return new Promise((resolve) => {
    const sock = net.connect(Number(u.port), '127.0.0.1');
    let sent = 0;
    let answer;
    let raw = Buffer.alloc(0);
    let timer;
    const done = (r) => {
      clearTimeout(timer);
      clearTimeout(deadline);
      sock.destroy();
      resolve(r);
    };
    const deadline = setTimeout(() => done(answer || { status: 0, reason: 'deadline', sent, body: '', head: '' }), deadlineMs);
    sock.on('error', () => undefined);
    sock.on('data', (d) => {
      raw = Buffer.concat([raw, d]);
      const end = raw.indexOf('\r\n\r\n');
      if (end < 0) return;
      const headText = raw.subarray(0, end).toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})[^\r]*\r\n([\s\S]*)$/.exec(headText);
      if (!m) return done({ status: 0, reason: 'not HTTP', sent, body: '', head: '' });
      if (!answer) answer = { status: Number(m[1]), head: m[2].toLowerCase(), body: '', bodySentWhenAnswered: sent };
      answer.body = raw.subarray(end + 4).toString('utf8');
      const cl = /content-length: (\d+)/.exec(answer.head);
      if (!cl || Buffer.byteLength(answer.body) >= Number(cl[1])) done(answer);
    });
    sock.on('close', () => done(answer || { status: 0, reason: 'closed', sent, body: '', head: '' }));
    sock.on('connect', () => {
      const h = { Host: u.host, ...(chunked ? { 'Transfer-Encoding': 'chunked' } : { 'Content-Length': String(total) }), ...headers };
      sock.write(
        `POST ${path} HTTP/1.1\r\n${Object.entries(h)
          .map(([k, v]) => `${k}: ${v}\r\n`)
          .join('')}\r\n`,
      );
      const pump = () => {
        if (sock.destroyed || answer) return;
        const n = Math.min(chunk, limit - sent);
        if (n <= 0) {
          if (chunked && sent >= data.length) sock.write('0\r\n\r\n');
          return; // complete, or held open
        }
        const piece = data.subarray(sent, sent + n);
        sock.write(chunked ? Buffer.concat([Buffer.from(`${n.toString(16)}\r\n`), piece, Buffer.from('\r\n')]) : piece);
        sent += n;
        timer = setTimeout(pump, intervalMs);
      };
      pump();
    });
  });
}

module.exports = { slowPost };
