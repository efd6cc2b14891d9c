/**
 * concur-reports-to-approve: the expense reports waiting for an approver
 * (Expense v4 reportsToApprove), as one message per report or one array.
 * Each message carries what the next nodes need: msg.reportId, msg.userId (the
 * approver, for MANAGER-context calls) and msg.reportOwnerId.
 * Thin adapter over concur/reports-to-approve.
 */
import type { RED, Node, NodeDef, NodeMessage } from '../shared/red-types';
import { correlationIdOf, findConnection, handleInputs, priorConcur, splitParts } from '../shared/concur-action';
import { evaluateInput, typedInput } from '../shared/typed-input';
import { getReportsToApprove } from '../../concur/reports-to-approve';
import { idValue } from '../../concur/path-segment';

interface Def extends NodeDef {
  server?: string;
  includeDelegateApprovals?: boolean;
  sort?: string;
  order?: string;
  output?: string;
}

export = function (RED: RED) {
  function ConcurReportsToApprove(this: Node, def: Def) {
    RED.nodes.createNode(this, def);
    const node = this;
    const each = def.output !== 'array';
    const userInput = typedInput(def, { name: 'userId', defaultValue: 'userId', label: "approver's user id" });
    const order = def.order === 'desc' ? 'desc' : 'asc';

    handleInputs(
      node,
      () => findConnection(RED, def.server),
      async (api, msg: NodeMessage, send) => {
        const userId = await evaluateInput(RED, node, msg, userInput);
        const result = await getReportsToApprove(
          api,
          { userId, includeDelegateApprovals: def.includeDelegateApprovals === true, sort: def.sort, order },
          correlationIdOf(msg),
        );
        const approver = idValue(userId);
        const prev = priorConcur(msg);
        const info = { approver, count: result.reports.length, status: result.response.status, correlationId: result.response.correlationId ?? null };
        if (each) {
          result.reports.forEach((r, i) => {
            const out = RED.util.cloneMessage(msg);
            out.payload = r;
            out.reportId = r.reportId;
            out.userId = approver;
            if (r.employee?.employeeUuid) out.reportOwnerId = r.employee.employeeUuid;
            out.parts = splitParts(msg, i, result.reports.length);
            out.concur = { ...prev, reportsToApprove: { ...info, index: i } };
            send(out);
          });
        } else {
          msg.payload = result.reports;
          msg.userId = approver;
          msg.concur = { ...prev, reportsToApprove: info };
          send(msg);
        }
        return `${result.reports.length} to approve`;
      },
    );
  }
  RED.nodes.registerType('concur-reports-to-approve', ConcurReportsToApprove);
};
