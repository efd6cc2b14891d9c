/**
 * concur-legacy-notify-in: receives SAP Concur's legacy Event Notification
 * callout (`POST <path>`, HTTP Basic, <Notification> XML) and serves the
 * connector's `GET /system/v1.0/testconnection`. Thin adapter: parsing lives in
 * concur/legacy-notification-xml, auth in concur/basic-auth, the output shape in
 * concur/notification-fields; beside this file: settings.ts (properties and their
 * problems), callout-stats.ts (counts and badge), callout-message.ts (the message).
 */
import { BASIC_AUTH_FAILURE_TEXT, BASIC_REALM_CHALLENGE, BasicAuthChecker } from '../../concur/basic-auth';
import { NotificationXmlError, parseLegacyNotification } from '../../concur/legacy-notification-xml';
import { type CompletionOutcome, FlowCompletionTracker } from '../shared/flow-completion';
import { type RegisteredRoute, RouteConflictError, type RouteRequest, type RouteResponse, registerRoute, sendText } from '../shared/http-routes';
import type { Node, RED } from '../shared/red-types';
import { ThrottledStatus } from '../shared/status';
import { joinTestConnection } from '../shared/testconnection-route';
import { calloutMessage } from './callout-message';
import { CalloutStats, REJECT_REASON, type RejectStatus } from './callout-stats';
import { type Credentials, configProblems, type LegacyNotifyDef, legacySettings } from './settings';
import { throttledWarn } from '../shared/warn-throttle';
import { receiverCounters, registerCountersRoute } from '../shared/receiver-counters';

export = function (RED: RED) {
  registerCountersRoute(RED, 'concur-legacy-notify-in'); // GET <admin>/concur-legacy-notify-in/<id>/counters
  function ConcurLegacyNotifyIn(this: Node<Credentials>, def: LegacyNotifyDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const creds = node.credentials ?? {};
    const checker = new BasicAuthChecker({ username: creds.username, password: creds.password });
    const settings = legacySettings(def);
    const { path, ackMode, ackTimeoutMs, maxBodyBytes } = settings;
    const stats = new CalloutStats(ackMode);
    let route: RegisteredRoute | undefined;
    let testConnection: { path: string; leave(): void } | undefined;
    let tracker: FlowCompletionTracker | undefined;
    // Live counters for the dialog and GET <admin>/concur-legacy-notify-in/<id>/counters.
    const live = receiverCounters(RED, node);
    let inFlight = 0;
    live.gauges = () => ({ pending: inFlight });

    // ---- status badge (throttled: a burst of requests must not flood the editor) ----
    const badge = new ThrottledStatus(node, () => stats.badge(route?.fullPath ?? path));
    const updateStatus = () => badge.update();

    // ---- answers ----
    // One warning per status per 10 s (with the count suppressed meanwhile): a flood of bad requests must not flood the log.
    const warn = throttledWarn((text) => node.warn(text));
    const reject = (res: RouteResponse, status: RejectStatus, reason: string, headers: Record<string, string> = {}) => {
      stats.reject(status, reason);
      live.reject(REJECT_REASON[status]);
      // Reasons never contain header values or credentials, only what was wrong.
      warn(String(status), `rejected a callout request: ${status} ${reason}`);
      sendText(res, status, reason, headers);
      updateStatus();
    };

    const answerOutcome = (res: RouteResponse, outcome: CompletionOutcome) => {
      if (outcome.ok) {
        stats.acked++;
        sendText(res, 200, '');
      } else {
        stats.failed++;
        live.failed++;
        const why =
          outcome.reason === 'error'
            ? `flow error${outcome.nodeId ? ` in node ${outcome.nodeId}` : ''}`
            : outcome.reason === 'timeout'
              ? `flow did not complete within ${ackTimeoutMs / 1000} s`
              : 'receiver closed before the flow completed';
        stats.lastProblem = `500 ${why}`;
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

      const msg = calloutMessage(RED.util.generateId(), parsed, req.headers['content-type']);
      stats.received++;
      live.accept();
      stats.lastProblem = '';

      if (ackMode === 'receipt' || !tracker) {
        stats.acked++;
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
    const problems = configProblems(settings, creds, checker.configured, Boolean(RED.hooks));
    if (problems.credentials) {
      stats.configProblem = problems.credentials.status;
      node.error(problems.credentials.log);
    } else if (problems.credentialWarning) {
      stats.credentialWarning = problems.credentialWarning.status;
      node.warn(problems.credentialWarning.log);
    }

    if (problems.fatal) {
      stats.configProblem = problems.fatal.status;
      node.error(problems.fatal.log);
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
            stats.lastProblem = '500 internal error';
            node.error(`callout handling failed: ${(err as Error)?.message ?? String(err)}`);
            updateStatus();
          },
        );
      } catch (err) {
        // Another node owns the path: this one stays idle, the other keeps working.
        stats.configProblem = err instanceof RouteConflictError ? `path ${path} used by another node` : `cannot listen on ${path}`;
        node.error(`cannot listen on ${path}: ${(err as Error)?.message ?? String(err)}`);
      }
      if (route && ackMode === 'complete' && RED.hooks) {
        tracker = new FlowCompletionTracker(RED.hooks, node.id, { onHookError: (err) => node.error(err) });
      }
      if (route && settings.testConnection) {
        testConnection = joinTestConnection(
          RED,
          {
            id: node.id,
            checker,
            onResult(r) {
              if (r.ok) {
                stats.lastProblem = '';
                node.log('answered Concur Test Connection (200)');
              } else {
                stats.reject(r.status, r.reason);
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
