/**
 * concur-workflow-action: approves, sends back or recalls an expense report
 * (v4 PATCH, or the legacy v1.1 <WorkflowAction> POST to WorkflowActionURL).
 * Thin adapter over concur/workflow-action.
 */
import type { RED, Node, NodeDef, NodeMessage } from '../shared/red-types';
import { correlationIdOf, findConnection, handleInputs } from '../shared/concur-action';
import { evaluateInputs, typedInput } from '../shared/typed-input';
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
    // TypedInputs; a flow saved before they existed reads the msg properties it always read.
    const inputs = {
      reportId: typedInput(def, { name: 'reportId', defaultValue: 'reportId', label: 'report id' }),
      userId: typedInput(def, { name: 'userId', defaultValue: 'userId', label: 'user id' }),
      workflowActionUrl: typedInput(def, { name: 'workflowActionUrl', defaultValue: 'workflowActionUrl', label: 'workflow action URL' }),
      comment: typedInput(def, { name: 'commentFrom', defaultValue: 'comment', label: 'comment' }),
      action: typedInput(def, { name: 'actionFrom', defaultValue: 'action', label: 'action' }),
    };

    handleInputs(
      node,
      () => findConnection(RED, def.server),
      async (api, msg: NodeMessage, send) => {
        const extra = isObject(msg.workflow) ? msg.workflow : {};
        const v = await evaluateInputs(RED, node, msg, inputs);
        const input: WorkflowActionInput = {
          statusId: def.statusId || undefined,
          ...extra,
          action: fromMsg ? v.action : configuredAction,
          // The per-message comment first, then msg.workflow.comment, then the configured text.
          comment: v.comment !== undefined ? v.comment : extra.comment !== undefined ? extra.comment : def.comment || undefined,
        };
        const a = validateWorkflowAction(input); // before anything is sent
        const correlationId = correlationIdOf(msg);
        const result = legacy
          ? await workflowActionLegacy(api, a, v.workflowActionUrl, correlationId)
          : await workflowActionV4(
              api,
              a,
              {
                reportId: v.reportId,
                userId: v.userId,
                endpoint: def.endpoint === 'user' ? 'user' : 'company',
                recallContext: def.recallContext === 'PROXY' ? 'PROXY' : 'TRAVELER',
              },
              correlationId,
            );
        msg.payload = result;
        send(msg);
        return `${a.action} ${legacy ? '' : String(v.reportId ?? '')}`.trim();
      },
    );
  }
  RED.nodes.registerType('concur-workflow-action', ConcurWorkflowAction);
};
