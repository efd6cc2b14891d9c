/**
 * concur-report-comments: reads or adds the comments of an expense report
 * (header or one expense), Expense v4 Comments. Thin adapter over concur/report-comments.
 */
import { choiceOption } from '../shared/options';
import type { RED, Node, NodeDef, NodeMessage } from '../shared/red-types';
import { correlationIdOf, findConnection, handleInputs, priorConcur } from '../shared/concur-action';
import { evaluateInputs, typedInput } from '../shared/typed-input';
import { addComment, COMMENT_CONTEXTS, readComments, type CommentContext, type CommentTarget } from '../../concur/report-comments';

interface Def extends NodeDef {
  server?: string;
  operation?: string;
  endpoint?: string;
  context?: string;
  includeAll?: boolean;
}

export = function (RED: RED) {
  function ConcurReportComments(this: Node, def: Def) {
    RED.nodes.createNode(this, def);
    const node = this;
    const add = def.operation === 'add';
    const endpoint = def.endpoint === 'user' ? 'user' : 'company';
    const context: CommentContext = choiceOption(COMMENT_CONTEXTS, def.context, 'TRAVELER');
    const inputs = {
      reportId: typedInput(def, { name: 'reportId', defaultValue: 'reportId', label: 'report id' }),
      expenseId: typedInput(def, { name: 'expenseId', defaultValue: 'expenseId', label: 'expense id' }),
      userId: typedInput(def, { name: 'userId', defaultValue: 'userId', label: 'user id' }),
      comment: typedInput(def, { name: 'comment', defaultValue: 'comment', label: 'comment' }),
    };

    handleInputs(
      node,
      () => findConnection(RED, def.server),
      async (api, msg: NodeMessage, send) => {
        const v = await evaluateInputs(RED, node, msg, inputs);
        const t: CommentTarget = {
          reportId: v.reportId,
          expenseId: v.expenseId === '' || v.expenseId === null ? undefined : v.expenseId,
          endpoint,
          userId: v.userId,
          context,
        };
        const correlationId = correlationIdOf(msg);
        const prev = priorConcur(msg);
        if (add) {
          const r = await addComment(api, t, v.comment, correlationId);
          msg.payload = { added: true, status: r.status, uri: r.uri, comment: v.comment };
          msg.concur = { ...prev, comments: { operation: 'add', status: r.status, correlationId: r.correlationId ?? null } };
          send(msg);
          return 'comment added';
        }
        const r = await readComments(api, t, def.includeAll === true, correlationId);
        msg.payload = r.comments;
        msg.concur = {
          ...prev,
          comments: { operation: 'read', count: r.comments.length, status: r.response.status, correlationId: r.response.correlationId ?? null },
        };
        send(msg);
        return `${r.comments.length} comment(s)`;
      },
    );
  }
  RED.nodes.registerType('concur-report-comments', ConcurReportComments);
};
