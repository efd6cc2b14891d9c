/**
 * concur-legacy-notify-in: receives SAP Concur's legacy Event Notification
 * callout (`POST <path>`, HTTP Basic, <Notification> XML) and serves the
 * connector's `GET /system/v1.0/testconnection`. Thin adapter: parsing lives in
 * concur/legacy-notification-xml, auth in concur/basic-auth, the output shape in
 * concur/notification-fields.
 */
import type { RED, Node, NodeDef, NodeMessage } from '../shared/red-types';
import { registerRoute, sendText, RouteConflictError, type RegisteredRoute, type RouteRequest, type RouteResponse } from '../shared/http-routes';
import { configuredPath, isValidPath } from '../shared/receiver-path';
import { numberOption } from '../shared/options';
import { ThrottledStatus } from '../shared/status';
import { joinTestConnection, TEST_CONNECTION_PATH } from '../shared/testconnection-route';
import { FlowCompletionTracker, type CompletionOutcome } from '../shared/flow-completion';
import { throttledWarn } from '../shared/warn-throttle';
import { BasicAuthChecker, BASIC_AUTH_FAILURE_TEXT, BASIC_REALM_CHALLENGE, concurCredentialProblems } from '../../concur/basic-auth';
import { NotificationXmlError, parseLegacyNotification } from '../../concur/legacy-notification-xml';
import { notificationFields } from '../../concur/notification-fields';
import { receiverCounters, registerCountersRoute } from '../shared/receiver-counters';

const TYPE = 'concur-legacy-notify-in';
const DEFAULT_PATH = '/concur/v1.0/notify';

interface LegacyNotifyDef extends NodeDef {
  path?: string;
  ackMode?: 'receipt' | 'complete';
  ackTimeout?: number | string;
  maxBodyKiB?: number | string;
  testConnection?: boolean;
}

interface Credentials {
  username?: string;
  password?: string;
}

type RejectStatus = 400 | 401 | 405 | 413 | 503;
/** Counter reason per refusal (shared/receiver-counters). */
const REJECT_REASON: Record<RejectStatus, string> = { 400: 'bad-request', 401: 'auth', 405: 'method', 413: 'too-large', 503: 'unavailable' };

export = function (RED: RED) {
  registerCountersRoute(RED, 'concur-legacy-notify-in'); // GET <admin>/concur-legacy-notify-in/<id>/counters
  function ConcurLegacyNotifyIn(this: Node<Credentials>, def: LegacyNotifyDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const creds = node.credentials ?? {};
    const checker = new BasicAuthChecker({ username: creds.username, password: creds.password });
    const ackMode = def.ackMode === 'complete' ? 'complete' : 'receipt';
    const ackTimeoutMs = Math.round(numberOption(TYPE, 'ackTimeout', def.ackTimeout) * 1000);
    const maxBodyBytes = Math.round(numberOption(TYPE, 'maxBodyKiB', def.maxBodyKiB) * 1024);
    const path = configuredPath(def.path, DEFAULT_PATH);

    const counts = { received: 0, acked: 0, failed: 0, rejected: { 400: 0, 401: 0, 405: 0, 413: 0, 503: 0 } as Record<RejectStatus, number> };
    let lastProblem = '';
    let configProblem = '';
    let credentialWarning = '';
    let route: RegisteredRoute | undefined;
    let testConnection: { path: string; leave(): void } | undefined;
    let tracker: FlowCompletionTracker | undefined;
    // Live counters for the dialog and GET <admin>/concur-legacy-notify-in/<id>/counters.
    const live = receiverCounters(RED, node);
    let inFlight = 0;
    live.gauges = () => ({ pending: inFlight });

    // ---- status badge (throttled: a burst of requests must not flood the editor) ----
    const statusText = () => {
      const rej = counts.rejected;
      const rejectedTotal = rej[400] + rej[401] + rej[405] + rej[413] + rej[503];
      const parts = [`${route?.fullPath ?? path}: ${counts.received} received`];
      if (ackMode === 'complete' && counts.failed) parts[0] += ` (${counts.failed} failed)`;
      if (rejectedTotal) {
        const by = ([401, 400, 413, 503, 405] as RejectStatus[]).filter((s) => rej[s]).map((s) => `${s}×${rej[s]}`);
        parts.push(`${rejectedTotal} rejected [${by.join(' ')}]`);
      }
      if (lastProblem) parts.push(`last: ${lastProblem}`);
      else if (credentialWarning) parts.push(credentialWarning);
      return parts.join(' · ');
    };
    const badge = new ThrottledStatus(node, () => {
      if (configProblem) return { fill: 'red', shape: 'ring', text: configProblem };
      const degraded = Boolean(lastProblem || credentialWarning);
      return { fill: degraded ? 'yellow' : 'green', shape: degraded ? 'ring' : 'dot', text: statusText() };
    });
    const updateStatus = () => badge.update();

    // ---- answers ----
    // One warning per status per 10 s (with the count suppressed meanwhile): a flood of bad requests must not flood the log.
    const warn = throttledWarn((text) => node.warn(text));
    const reject = (res: RouteResponse, status: RejectStatus, reason: string, headers: Record<string, string> = {}) => {
      counts.rejected[status]++;
      live.reject(REJECT_REASON[status]);
      lastProblem = `${status} ${reason}`;
      // Reasons never contain header values or credentials, only what was wrong.
      warn(String(status), `rejected a callout request: ${status} ${reason}`);
      sendText(res, status, reason, headers);
      updateStatus();
    };

    const answerOutcome = (res: RouteResponse, outcome: CompletionOutcome) => {
      if (outcome.ok) {
        counts.acked++;
        sendText(res, 200, '');
      } else {
        counts.failed++;
        live.failed++;
        const why =
          outcome.reason === 'error'
            ? `flow error${outcome.nodeId ? ` in node ${outcome.nodeId}` : ''}`
            : outcome.reason === 'timeout'
              ? `flow did not complete within ${ackTimeoutMs / 1000} s`
              : 'receiver closed before the flow completed';
        lastProblem = `500 ${why}`;
        warn('500', `answered 500 so Concur keeps the notification as failed: ${why}`);
        // The sender sees a generic text; details stay in the node status and log.
        sendText(res, 500, 'notification not processed');
      }
      updateStatus();
    };

    // ---- the callout route ----
    const onNotify = (req: RouteRequest, res: RouteResponse) => {
      live.received++;
      const method = (req.method ?? '').toUpperCase();
      if (method !== 'POST') return reject(res, 405, `method ${method} not allowed`, { Allow: 'POST' });

      const auth = checker.check(req.headers.authorization);
      if (!auth.ok) return reject(res, 401, BASIC_AUTH_FAILURE_TEXT[auth.reason], { 'WWW-Authenticate': BASIC_REALM_CHALLENGE });

      const bodyError = req.concurBodyError;
      if (bodyError) {
        // Close the connection: the rest of an oversized body is not worth reading.
        if (bodyError.status === 413) return reject(res, 413, `body larger than ${maxBodyBytes} bytes`, { Connection: 'close' });
        // Busy, too slow or aborted: a retryable answer; Concur keeps the notification as failed.
        return reject(res, 503, bodyError.message, { 'Retry-After': String(bodyError.retryAfterSec ?? 5) });
      }
      // Never parse a body that was not captured as empty (that would answer 400 for a valid notification).
      if (!req.concurRawBody) return reject(res, 503, 'request body was not captured', { 'Retry-After': '5' });

      let parsed;
      try {
        parsed = parseLegacyNotification(req.concurRawBody, req.headers['content-type']);
      } catch (err) {
        if (err instanceof NotificationXmlError) return reject(res, 400, err.message);
        throw err; // unexpected: registerRoute's guard answers 500 and reports it
      }

      const payload = notificationFields(parsed.notification);
      const msg: NodeMessage = {
        _msgid: RED.util.generateId(),
        topic: payload.objectType,
        payload,
        concur: {
          source: 'legacy-notification',
          rawBody: parsed.xml,
          contentType: req.headers['content-type'] ?? null,
          receivedAt: new Date().toISOString(),
        },
      };
      counts.received++;
      live.accept();
      lastProblem = '';

      if (ackMode === 'receipt' || !tracker) {
        counts.acked++;
        sendText(res, 200, '');
        node.send(msg);
      } else {
        const t = tracker;
        const id = msg._msgid as string;
        // watch() never rejects; the catch only keeps a throw in answerOutcome from escaping.
        inFlight++;
        t.watch(id, ackTimeoutMs)
          .then((outcome) => {
            inFlight--;
            answerOutcome(res, outcome);
          })
          .catch((err) => {
            node.error(err);
            sendText(res, 500, 'notification not processed');
          })
          .catch(() => undefined);
        try {
          node.send(msg);
        } finally {
          t.sent(id);
        }
      }
      updateStatus();
    };

    // ---- start up ----
    const problems = concurCredentialProblems(creds);
    if (!checker.configured) {
      configProblem = 'credentials not set: every request is refused (401)';
      node.error('user name and password are not set; every callout will be refused with 401');
    } else if (problems.length) {
      credentialWarning = 'credentials outside Concur 10–50 chars';
      node.warn(`Concur will not accept these connector credentials: ${problems.join('; ')}`);
    }

    if (!isValidPath(path)) {
      configProblem = `invalid path "${path}"`;
      node.error(`invalid path "${path}": use letters, digits and . _ ~ - / % only`);
    } else if (path === TEST_CONNECTION_PATH) {
      configProblem = 'path is reserved for testconnection';
      node.error(`${TEST_CONNECTION_PATH} is served by the receiver itself; choose another notification path`);
    } else if (ackMode === 'complete' && !RED.hooks) {
      configProblem = 'ack after flow completes needs Node-RED hooks';
      node.error('"ack after flow completes" needs Node-RED message hooks (Node-RED 2 or later)');
    } else {
      try {
        route = registerRoute(
          RED,
          {
            methods: ['POST'],
            path,
            owner: { id: node.id, type: node.type },
            allMethods: true,
            // A request without the right Basic credentials is answered 401 before its body is read.
            captureBody: { methods: ['POST'], limitBytes: maxBodyBytes, shouldRead: (req) => checker.check(req.headers.authorization).ok },
          },
          onNotify,
          (err) => {
            lastProblem = '500 internal error';
            node.error(`callout handling failed: ${(err as Error)?.message ?? String(err)}`);
            updateStatus();
          },
        );
      } catch (err) {
        // Another node owns the path: this one stays idle, the other keeps working.
        configProblem = err instanceof RouteConflictError ? `path ${path} used by another node` : `cannot listen on ${path}`;
        node.error(`cannot listen on ${path}: ${(err as Error)?.message ?? String(err)}`);
      }
      if (route && ackMode === 'complete' && RED.hooks) {
        tracker = new FlowCompletionTracker(RED.hooks, node.id, { onHookError: (err) => node.error(err) });
      }
      if (route && def.testConnection !== false) {
        testConnection = joinTestConnection(
          RED,
          {
            id: node.id,
            checker,
            onResult(r) {
              if (r.ok) {
                lastProblem = '';
                node.log('answered Concur Test Connection (200)');
              } else {
                counts.rejected[r.status]++;
                lastProblem = `${r.status} ${r.reason}`;
              }
              updateStatus();
            },
          },
          (err) => node.error(err),
        );
      }
    }
    badge.paint();
    // Repaint once all flows run: Status nodes created after this node missed the first badge.
    const onFlowsStarted = () => badge.paint();
    RED.events?.on('flows:started', onFlowsStarted);

    node.on('close', (done: () => void) => {
      live.release();
      RED.events?.removeListener('flows:started', onFlowsStarted);
      badge.close();
      try {
        route?.remove();
        testConnection?.leave();
        // Answers every response still waiting for the flow with 500, so nothing hangs.
        tracker?.close();
      } catch (err) {
        node.error(err);
      }
      node.status({});
      done();
    });
  }

  RED.nodes.registerType('concur-legacy-notify-in', ConcurLegacyNotifyIn, {
    credentials: { username: { type: 'text' }, password: { type: 'password' } },
  });
};
