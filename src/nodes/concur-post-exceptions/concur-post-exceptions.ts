/**
 * concur-post-exceptions: adds exceptions to an expense report (v4 PUT per
 * exception, or one legacy v1.1 <Exceptions> POST). Thin adapter over
 * concur/report-exceptions.
 */
import { choiceOption } from '../shared/options';
import type { RED, Node, NodeDef, NodeMessage } from '../shared/red-types';
import { correlationIdOf, findConnection, handleInputs } from '../shared/concur-action';
import { evaluateInputs, typedInput } from '../shared/typed-input';
import { ConcurError, invalidInput } from '../../concur/concur-error';
import { idValue } from '../../concur/path-segment';
import { EXCEPTION_VISIBILITIES, normalizeExceptions, postExceptionsLegacy, postExceptionsV4, type ExceptionVisibility } from '../../concur/report-exceptions';

interface Def extends NodeDef {
  server?: string;
  version?: string;
  exceptions?: string;
  visibility?: string;
}

export = function (RED: RED) {
  function ConcurPostExceptions(this: Node, def: Def) {
    RED.nodes.createNode(this, def);
    const node = this;
    const legacy = def.version === 'v1.1';
    const visibility: ExceptionVisibility = choiceOption(EXCEPTION_VISIBILITIES, def.visibility, 'ALL');
    let configured: unknown;
    let configProblem = '';
    if (typeof def.exceptions === 'string' && def.exceptions.trim()) {
      try {
        configured = JSON.parse(def.exceptions);
        normalizeExceptions(configured, visibility);
      } catch (err) {
        configProblem = `configured exceptions are invalid: ${(err as Error).message}`;
        node.error(configProblem);
        configured = undefined;
      }
    }

    // TypedInputs; a flow saved before they existed reads the msg properties it always read.
    const inputs = {
      reportId: typedInput(def, { name: 'reportId', defaultValue: 'reportId', label: 'report id' }),
      reportKey: typedInput(def, { name: 'reportKey', defaultValue: 'reportKey', label: 'report key' }),
      exceptions: typedInput(def, { name: 'exceptionsFrom', defaultValue: 'exceptions', label: 'exceptions' }),
    };

    handleInputs(
      node,
      () => findConnection(RED, def.server),
      async (api, msg: NodeMessage, send) => {
        const v = await evaluateInputs(RED, node, msg, inputs);
        const source = v.exceptions !== undefined ? v.exceptions : configured;
        if (source === undefined) throw invalidInput(configProblem || 'no exceptions: set msg.exceptions or configure them in the node');
        const list = normalizeExceptions(source, visibility);
        const reportId = legacy ? (idValue(v.reportKey) ?? idValue(v.reportId)) : idValue(v.reportId);
        if (!reportId) throw invalidInput(legacy ? 'msg.reportKey (v1.1 RptKey) or msg.reportId is required' : 'msg.reportId is required');
        const correlationId = correlationIdOf(msg);
        const results = legacy ? await postExceptionsLegacy(api, reportId, list, correlationId) : await postExceptionsV4(api, reportId, list, correlationId);
        msg.payload = results;
        const failed = results.filter((r) => !r.ok);
        if (failed.length) {
          // Partial failure goes to the Catch node with every result in msg.payload.
          const first = failed[0];
          throw new ConcurError({
            status: first.status,
            code: results.length === failed.length ? (first.code ?? 'EXCEPTIONS_FAILED') : 'EXCEPTIONS_PARTIAL',
            message: `${failed.length} of ${results.length} exception(s) failed on report ${reportId}: ${failed
              .map((f) => `#${f.index} ${f.exceptionCode}: ${f.message ?? 'failed'}`)
              .join('; ')}`.slice(0, 1000),
          });
        }
        send(msg);
        return `${results.length} exception(s) on ${reportId}`;
      },
    );
  }
  RED.nodes.registerType('concur-post-exceptions', ConcurPostExceptions);
};
