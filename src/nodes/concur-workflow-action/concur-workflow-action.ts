/**
 * concur-workflow-action: approves, sends back or recalls an expense report
 * (v4 PATCH, or the legacy v1.1 <WorkflowAction> POST to WorkflowActionURL).
 * Thin adapter over concur/workflow-action.
 */
import type { RED, Node, NodeDef, NodeMessage } from '../shared/red-types';
import { correlationIdOf, findConnection, handleInputs } from '../shared/concur-action';
import { validateWorkflowAction, workflowActionLegacy, workflowActionV4, normalizeActionName, type WorkflowActionInput } from '../../concur/workflow-action';
import { isObject } from '../../concur/objects';

interface Def extends NodeDef {
  server?: string;
  version?: string;
  action?: string;
  comment?: string;
  endpoint?: string;
  recallContext?: string;
  statusId?: string;
}

export = function (RED: RED) {
  function ConcurWorkflowAction(this: Node, def: Def) {
    RED.nodes.createNode(this, def);
    const node = this;
    const legacy = def.version === 'v1.1';
    const fromMsg = def.action === 'msg';
    const configuredAction = fromMsg ? undefined : (normalizeActionName(def.action) ?? 'approve');

    handleInputs(
      node,
      () => findConnection(RED, def.server),
      async (api, msg: NodeMessage, send) => {
        const extra = isObject(msg.workflow) ? msg.workflow : {};
        const input: WorkflowActionInput = {
          statusId: def.statusId || undefined,
          ...extra,
          action: fromMsg ? msg.action : configuredAction,
          comment: msg.comment !== undefined ? msg.comment : extra.comment !== undefined ? extra.comment : def.comment || undefined,
        };
        const a = validateWorkflowAction(input); // before anything is sent
        const correlationId = correlationIdOf(msg);
        const result = legacy
          ? await workflowActionLegacy(api, a, msg.workflowActionUrl, correlationId)
          : await workflowActionV4(
              api,
              a,
              {
                reportId: msg.reportId,
                userId: msg.userId,
                endpoint: def.endpoint === 'user' ? 'user' : 'company',
                recallContext: def.recallContext === 'PROXY' ? 'PROXY' : 'TRAVELER',
              },
              correlationId,
            );
        msg.payload = result;
        send(msg);
        return `${a.action} ${legacy ? '' : String(msg.reportId ?? '')}`.trim();
      },
    );
  }
  RED.nodes.registerType('concur-workflow-action', ConcurWorkflowAction);
};
