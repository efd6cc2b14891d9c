/**
 * concur-get-report-details: fetches the expense report an event points at
 * (ESS `facts.href`, legacy `objectURI`, or `msg.reportId` + `msg.userId`) and
 * emits it. Thin adapter over concur/report-details.
 */
import { choiceOption } from '../shared/options';
import type { RED, Node, NodeDef, NodeMessage } from '../shared/red-types';
import { correlationIdOf, findConnection, handleInputs, priorConcur } from '../shared/concur-action';
import { evaluateInputs, typedInput } from '../shared/typed-input';
import { fetchReport, locateReport, REPORT_API_VERSIONS, REPORT_CONTEXTS, type ReportApiVersion, type ReportContext } from '../../concur/report-details';
import { isObject } from '../../concur/objects';

interface Def extends NodeDef {
  server?: string;
  version?: string;
  context?: string;
  urlTemplate?: string;
}

export = function (RED: RED) {
  function ConcurGetReportDetails(this: Node, def: Def) {
    RED.nodes.createNode(this, def);
    const node = this;
    const version: ReportApiVersion = choiceOption(REPORT_API_VERSIONS, def.version, 'v4');
    const context: ReportContext = choiceOption(REPORT_CONTEXTS, def.context, 'TRAVELER');
    const urlTemplate = typeof def.urlTemplate === 'string' ? def.urlTemplate.trim() : '';
    // TypedInputs; a flow saved before they existed reads the msg properties it always read.
    const inputs = {
      href: typedInput(def, { name: 'href', defaultValue: 'payload.facts.href', label: 'report URL' }),
      reportId: typedInput(def, { name: 'reportId', defaultValue: 'reportId', label: 'report id' }),
      userId: typedInput(def, { name: 'userId', defaultValue: 'userId', label: 'user id' }),
    };

    handleInputs(
      node,
      () => findConnection(RED, def.server),
      async (api, msg: NodeMessage, send) => {
        const event = msg.payload;
        const p = isObject(event) ? event : {};
        const v = await evaluateInputs(RED, node, msg, inputs);
        // Everything is validated before a request goes out.
        const location = locateReport({ factsHref: v.href, objectURI: p.objectURI, reportId: v.reportId, userId: v.userId }, { version, context, urlTemplate });
        const got = await fetchReport(api, location, correlationIdOf(msg));
        const s = got.summary;
        const prev = priorConcur(msg);
        msg.concur = {
          ...prev,
          event: prev.event ?? event,
          report: {
            url: got.response.url,
            source: location.source,
            version: location.version,
            status: got.response.status,
            correlationId: got.response.correlationId ?? null,
          },
        };
        msg.report = got.report;
        msg.payload = structuredClone(got.report);
        if (got.response.xmlRoot) msg.reportXml = got.response.text;
        if (s.reportId) msg.reportId = s.reportId;
        if (s.reportKey) msg.reportKey = s.reportKey;
        if (s.userId && msg.userId === undefined) msg.userId = s.userId;
        if (s.workflowActionUrl) msg.workflowActionUrl = s.workflowActionUrl;
        send(msg);
        return `${location.version === 'unknown' ? '' : location.version + ' '}${s.reportId ?? 'report'}`;
      },
    );
  }
  RED.nodes.registerType('concur-get-report-details', ConcurGetReportDetails);
};
