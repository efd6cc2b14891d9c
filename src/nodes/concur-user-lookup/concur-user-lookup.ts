/**
 * concur-user-lookup: a Concur user by user id, login id or employee id
 * (Identity v4), with name, e-mail, manager and the ids later calls need;
 * answers are cached for a configurable time. Thin adapter over concur/user-lookup.
 */
import type { RED, Node, NodeDef, NodeMessage } from '../shared/red-types';
import { correlationIdOf, findConnection, handleInputs, priorConcur } from '../shared/concur-action';
import { numberOption, choiceOption } from '../shared/options';
import { evaluateInput, typedInput } from '../shared/typed-input';
import { LOOKUP_BY, UserCache, type LookupBy } from '../../concur/user-lookup';

interface Def extends NodeDef {
  server?: string;
  by?: string;
  cacheSeconds?: number | string;
  setUserId?: boolean;
}

export = function (RED: RED) {
  function ConcurUserLookup(this: Node, def: Def) {
    RED.nodes.createNode(this, def);
    const node = this;
    const by: LookupBy = choiceOption(LOOKUP_BY, def.by, 'id');
    const ttlMs = numberOption('concur-user-lookup', 'cacheSeconds', def.cacheSeconds) * 1000;
    const cache = new UserCache(ttlMs);
    const input = typedInput(def, { name: 'user', defaultValue: 'userId', label: by === 'id' ? 'user id' : by === 'loginId' ? 'login id' : 'employee id' });

    handleInputs(
      node,
      () => findConnection(RED, def.server),
      async (api, msg: NodeMessage, send) => {
        const value = await evaluateInput(RED, node, msg, input);
        const r = await cache.lookup(api, by, value, correlationIdOf(msg));
        msg.payload = r.summary;
        msg.user = r.user;
        if (def.setUserId !== false) msg.userId = r.summary.userId;
        const prev = priorConcur(msg);
        msg.concur = { ...prev, userLookup: { by, cached: r.cached, status: r.status, correlationId: r.correlationId ?? null } };
        send(msg);
        return `${r.summary.displayName ?? r.summary.userId}${r.cached ? ' (cached)' : ''}`;
      },
    );
    node.on('close', () => cache.clear());
  }
  RED.nodes.registerType('concur-user-lookup', ConcurUserLookup);
};
