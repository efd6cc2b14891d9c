/**
 * concur-travel-request: reads a Travel Request v4, or approves / sends it
 * back. Works after concur-ess-event-in on the public.concur.request topic
 * (the Request id comes from the event's facts). Thin adapter over concur/travel-request.
 */
import type { RED, Node, NodeDef, NodeMessage } from '../shared/red-types';
import { correlationIdOf, findConnection, handleInputs, priorConcur } from '../shared/concur-action';
import { isObject } from '../../concur/objects';
import { evaluateInputs, typedInput } from '../shared/typed-input';
import { getTravelRequest, normalizeTravelAction, requestIdFrom, travelRequestAction } from '../../concur/travel-request';

interface Def extends NodeDef {
  server?: string;
  operation?: string;
}

export = function (RED: RED) {
  function ConcurTravelRequest(this: Node, def: Def) {
    RED.nodes.createNode(this, def);
    const node = this;
    const operation = def.operation === 'approve' || def.operation === 'sendback' || def.operation === 'msg' ? def.operation : 'get';
    const inputs = {
      requestId: typedInput(def, { name: 'requestId', defaultValue: 'requestId', label: 'request id' }),
      userId: typedInput(def, { name: 'userId', defaultValue: 'userId', label: 'user id' }),
      comment: typedInput(def, { name: 'comment', defaultValue: 'comment', label: 'comment' }),
      action: typedInput(def, { name: 'actionFrom', defaultValue: 'action', label: 'action' }),
    };

    handleInputs(
      node,
      () => findConnection(RED, def.server),
      async (api, msg: NodeMessage, send) => {
        const v = await evaluateInputs(RED, node, msg, inputs);
        // Without an explicit id: the ESS request event's facts (id, or the UUID in href).
        const facts =
          isObject(msg.payload) && isObject(msg.payload.facts)
            ? msg.payload.facts
            : isObject(msg.concur) && isObject(msg.concur.event) && isObject(msg.concur.event.facts)
              ? msg.concur.event.facts
              : {};
        const requestId = requestIdFrom(v.requestId, undefined) ?? requestIdFrom(facts.id, facts.href);
        const correlationId = correlationIdOf(msg);
        const prev = priorConcur(msg);
        const op = operation === 'msg' ? (normalizeTravelAction(v.action) ?? (v.action === 'get' ? 'get' : String(v.action ?? ''))) : operation;
        const result =
          op === 'get'
            ? await getTravelRequest(api, requestId, v.userId, correlationId)
            : await travelRequestAction(api, requestId, op, { userId: v.userId, comment: v.comment }, correlationId);
        const r = result.request;
        if (isObject(msg.payload) && isObject(msg.payload.facts) && prev.event === undefined) prev.event = msg.payload;
        msg.payload = r;
        msg.travelRequest = structuredClone(r);
        if (typeof r.id === 'string') msg.requestId = r.id;
        else if (requestId) msg.requestId = requestId;
        msg.concur = { ...prev, travelRequest: { operation: op, status: result.response.status, correlationId: result.response.correlationId ?? null } };
        send(msg);
        const status = isObject(r.approvalStatus) && typeof r.approvalStatus.code === 'string' ? ` ${r.approvalStatus.code}` : '';
        return `${op}${status}`;
      },
    );
  }
  RED.nodes.registerType('concur-travel-request', ConcurTravelRequest);
};
