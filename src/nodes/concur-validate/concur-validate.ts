/**
 * concur-validate: runs a table of JSONata rules (or presets) against the
 * expense report `concur-get-report-details` emitted, normalised to one view
 * whichever API version answered. Output 1: the report passed. Output 2: the
 * exceptions found, as `msg.exceptions` for `concur-post-exceptions`, with a
 * readable summary. Thin adapter over concur/report-view and
 * concur/validation-rules; rules are compiled at deploy (red status naming
 * the bad rule), never at the first event.
 *
 * Admin routes (behind Node-RED's admin auth, permission concur-validate.write):
 *   POST <httpAdminRoot>/concur-validate/check    { rules } → the problems of each rule
 *   POST <httpAdminRoot>/concur-validate/dry-run  { rules, report | fetch } → what fires
 */
import { choiceOption } from '../shared/options';
import type { RED, Node, NodeDef, NodeMessage, SendFn, DoneFn } from '../shared/red-types';
import { findConnection } from '../shared/concur-action';
import { needsPermission } from '../shared/permissions';
import { clipStatus } from '../shared/status';
import { isObject } from '../../concur/objects';
import { toReportView, ReportViewError, type ReportView } from '../../concur/report-view';
import { compileRules, validateReport, type CompiledRule, type RuleProblem, type ValidationResult } from '../../concur/validation-rules';
import { RULE_PRESETS } from '../../concur/rule-presets';
import { EXCEPTION_VISIBILITIES, type ExceptionVisibility } from '../../concur/report-exceptions';
import { fetchReport, locateReport, REPORT_API_VERSIONS, REPORT_CONTEXTS, type ReportApiVersion, type ReportContext } from '../../concur/report-details';
import { toConcurError } from '../../concur/concur-error';
import type { ConcurApi } from '../../concur/api-types';
import { pathSegment } from '../../concur/path-segment';

interface Def extends NodeDef {
  rules?: unknown;
  rulesFrom?: string;
  rulesKey?: string;
  visibility?: string;
  server?: string;
  fetchExpenses?: boolean;
}

type Source = 'node' | 'msg' | 'flow' | 'global';
const SOURCES: readonly Source[] = ['node', 'msg', 'flow', 'global'];

function problemText(problems: RuleProblem[]): string {
  return problems.map((p) => (p.index >= 0 ? `rule ${p.index + 1} "${p.name}": ${p.message}` : p.message)).join('; ');
}

const clip = clipStatus;

/** The v4 report carries no expenses: GET them from its `expenses` link or the documented path
 * (https://developer.concur.com/api-reference/expense/expense-report/v4.expenses.html). */
async function fetchV4Expenses(api: ConcurApi, report: Record<string, unknown>, context: string, correlationId?: string): Promise<unknown> {
  const links = Array.isArray(report.links) ? report.links : [];
  const link = links.find((l) => isObject(l) && l.rel === 'expenses' && typeof l.href === 'string') as { href: string } | undefined;
  const userId = typeof report.userId === 'string' ? report.userId : '';
  const reportId = typeof report.reportId === 'string' ? report.reportId : '';
  let url = link?.href;
  if (!url) {
    if (!userId || !reportId) throw new ReportViewError('cannot fetch the v4 expenses: the report has no expenses link, userId or reportId');
    url = `/expensereports/v4/users/${pathSegment(userId, 'the report userId')}/context/${pathSegment(context, 'context')}/reports/${pathSegment(reportId, 'the report reportId')}/expenses`;
  }
  const r = await api.request({ method: 'GET', url, accept: 'application/json', correlationId });
  if (!Array.isArray(r.data)) throw new ReportViewError(`the v4 expenses request answered ${r.status} without a list`);
  return r.data;
}

/**
 * One compiled rule set per distinct list, keyed by its JSON text (not by object identity: a context
 * variable changed in place keeps its identity, and must not keep its old rules).
 */
class RuleCache {
  private byText = new Map<string, { rules: CompiledRule[]; problems: RuleProblem[] }>();
  get(list: unknown): { rules: CompiledRule[]; problems: RuleProblem[] } {
    let text: string;
    try {
      text = JSON.stringify(list) ?? 'undefined';
    } catch {
      return compileRules(list);
    }
    let c = this.byText.get(text);
    if (!c) {
      c = compileRules(list);
      if (this.byText.size >= 20) this.byText.delete(this.byText.keys().next().value as string);
      this.byText.set(text, c);
    }
    return c;
  }
}

/**
 * The v4 and v3 report carry no expenses. Validating one without them would pass every
 * entry rule without looking at an entry, so that is refused instead of passed.
 */
function missingExpenses(view: ReportView, rules: CompiledRule[], expenses: unknown, report: unknown): string | undefined {
  if (view.source !== 'v4' && view.source !== 'v3') return undefined;
  if (expenses !== undefined || (isObject(report) && (report.expenses !== undefined || report.Entries !== undefined))) return undefined;
  const scoped = rules.filter((r) => r.scope !== 'report');
  if (!scoped.length) return undefined;
  return `the ${view.source} report carries no expenses, so ${scoped.length} entry / allocation / attendee rule(s) could not check anything: ${
    view.source === 'v4' ? 'select a connection in the node so it fetches them, or set msg.expenses' : "set msg.expenses to the report's v3 entries"
  }`;
}

const REGISTERED = Symbol.for('node-red-contrib-sap-concur.validateRoutes');
const MAX_DRY_RUN_BODY = 5_000_000;

function registerAdminRoutes(RED: RED): void {
  const app = RED.httpAdmin as unknown as { [REGISTERED]?: boolean };
  if (app[REGISTERED]) return;
  app[REGISTERED] = true;
  const needs = needsPermission(RED, 'concur-validate.write');
  type Res = { status(n: number): Res; json(b: unknown): void; headersSent?: boolean };

  RED.httpAdmin.post('/concur-validate/check', needs, (req: { body?: unknown }, res: Res) => {
    try {
      const body = isObject(req.body) ? req.body : {};
      const { problems } = compileRules(body.rules);
      res.json({ ok: problems.length === 0, problems });
    } catch (err) {
      res.status(500).json({ ok: false, error: (err as Error).message });
    }
  });

  RED.httpAdmin.post('/concur-validate/dry-run', needs, (req: { body?: unknown }, res: Res) => {
    const answer = (status: number, body: Record<string, unknown>) => {
      if (!res.headersSent) res.status(status).json(body);
    };
    const run = async () => {
      const body = isObject(req.body) ? req.body : {};
      const { rules, problems } = compileRules(body.rules);
      if (problems.length) return answer(400, { ok: false, stage: 'rules', problems, error: problemText(problems) });
      let report: unknown = body.report;
      let expenses: unknown = body.expenses;
      let fetched: Record<string, unknown> | undefined;
      if (typeof report === 'string') {
        if (report.length > MAX_DRY_RUN_BODY) return answer(413, { ok: false, stage: 'report', error: 'the sample report is too large' });
        try {
          report = JSON.parse(report);
        } catch (e) {
          return answer(400, { ok: false, stage: 'report', error: `the sample report is not JSON: ${(e as Error).message}` });
        }
      }
      if (
        isObject(report) &&
        isObject(report.payload) &&
        report.expenses === undefined &&
        (report.payload.reportId || report.payload.RptKey || report.payload.ID || report.payload.ReportID)
      ) {
        // A whole debug-copied msg: take its payload and expenses.
        expenses ??= report.expenses;
        report = report.payload;
      }
      if (isObject(body.fetch)) {
        const f = body.fetch;
        const conn = findConnection(RED, f.server);
        if (!conn) return answer(400, { ok: false, stage: 'fetch', error: 'select a deployed Concur connection (concur-config) to fetch a sample report' });
        const version: ReportApiVersion = (REPORT_API_VERSIONS as readonly string[]).includes(String(f.version)) ? (f.version as ReportApiVersion) : 'v4';
        const context: ReportContext = (REPORT_CONTEXTS as readonly string[]).includes(String(f.context)) ? (f.context as ReportContext) : 'TRAVELER';
        const location = locateReport({ reportId: f.reportId, userId: f.userId, factsHref: f.href }, { version, context });
        const got = await fetchReport(conn.api, location);
        report = got.report;
        if (location.version === 'v4' && isObject(report)) expenses = await fetchV4Expenses(conn.api, report, context);
        fetched = { url: got.response.url, version: location.version, status: got.response.status };
      }
      let view: ReportView;
      try {
        view = toReportView(report, { expenses, allocations: body.allocations, attendees: body.attendees });
      } catch (e) {
        return answer(400, { ok: false, stage: 'report', error: (e as Error).message });
      }
      const warning = missingExpenses(view, rules, expenses, report);
      const defaultVisibility = (EXCEPTION_VISIBILITIES as readonly string[]).includes(String(body.visibility))
        ? (body.visibility as ExceptionVisibility)
        : 'ALL';
      const t0 = process.hrtime.bigint();
      const result = await validateReport(rules, view, { defaultVisibility });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      answer(200, {
        ok: true,
        warning,
        fetched,
        report: fetched ? report : undefined,
        expenses: fetched ? expenses : undefined,
        view: {
          source: view.source,
          header: view.header,
          entries: view.entries.length,
          allocations: view.allocations.length,
          attendees: view.attendees.length,
        },
        result,
        ms: Math.round(ms * 100) / 100,
      });
    };
    run().catch((err) => {
      const e = toConcurError(err);
      answer(e.code === 'INVALID_INPUT' || err instanceof ReportViewError ? 400 : 502, {
        ok: false,
        stage: 'fetch',
        status: e.status,
        code: e.code,
        error: e.message,
      });
    });
  });

  RED.httpAdmin.post('/concur-validate/presets', needs, (_req: unknown, res: Res) => {
    res.json({ presets: RULE_PRESETS });
  });
}

export = function (RED: RED) {
  registerAdminRoutes(RED);

  function ConcurValidate(this: Node, def: Def) {
    RED.nodes.createNode(this, def);
    const node = this;
    const source: Source = choiceOption(SOURCES, def.rulesFrom, 'node');
    const key = typeof def.rulesKey === 'string' && def.rulesKey.trim() ? def.rulesKey.trim() : 'rules';
    const visibility: ExceptionVisibility = choiceOption(EXCEPTION_VISIBILITIES, def.visibility, 'ALL');
    const cache = new RuleCache();
    let passed = 0;
    let flagged = 0;
    let closed = false;

    // Rules in the node are compiled once, here: a bad one is named at deploy, not at the first report.
    let configured: { rules: CompiledRule[]; problems: RuleProblem[] } | undefined;
    let configProblem = '';
    if (source === 'node') {
      configured = compileRules(Array.isArray(def.rules) ? def.rules : []);
      if (configured.problems.length) {
        configProblem = `rules do not compile: ${problemText(configured.problems)}`;
        node.error(configProblem);
      }
    }
    const deployStatus = () => {
      if (closed || !configured) return;
      const first = configured.problems[0];
      if (first) node.status({ fill: 'red', shape: 'ring', text: clip(`rule "${first.name}": ${first.field} invalid`) });
      else if (!passed && !flagged) node.status({ fill: 'grey', shape: 'dot', text: `${configured.rules.length} rule(s)` });
    };
    deployStatus();
    // A status set while the flow is being built reaches no Status node yet: say it again once flows have started.
    RED.events?.on('flows:started', deployStatus);

    const paint = (res: ValidationResult | undefined, err?: string) => {
      if (closed) return;
      if (configProblem) return;
      if (err) return node.status({ fill: 'red', shape: 'ring', text: clip(err) });
      if (res && res.errors.length)
        return node.status({ fill: 'yellow', shape: 'ring', text: clip(`rule "${res.errors[0].rule}" failed · ${passed} passed, ${flagged} flagged`) });
      node.status({ fill: 'green', shape: 'dot', text: clip(`${passed} passed, ${flagged} flagged`) });
    };

    function rulesFor(msg: NodeMessage): Promise<unknown> {
      if (source === 'msg') return Promise.resolve(msg[key]);
      return new Promise((resolve, reject) => {
        try {
          RED.util.evaluateNodeProperty(key, source, node, msg, (err, v) => (err ? reject(err) : resolve(v)));
        } catch (e) {
          reject(e);
        }
      });
    }

    async function handle(msg: NodeMessage, send: SendFn): Promise<ValidationResult> {
      let compiled = configured;
      if (!compiled) {
        const list = await rulesFor(msg);
        if (list === undefined) throw new Error(`no rules: ${source === 'msg' ? 'msg' : source}.${key} is not set`);
        compiled = cache.get(list);
      }
      if (compiled.problems.length) throw new Error(`rules do not compile: ${problemText(compiled.problems)}`);
      const report = msg.payload;
      let expenses = msg.expenses;
      // v4: the report has no expenses; fetch them when a connection is set (and nothing gave them).
      const conn = def.server ? findConnection(RED, def.server) : undefined;
      if (
        def.fetchExpenses !== false &&
        conn &&
        expenses === undefined &&
        isObject(report) &&
        typeof report.reportId === 'string' &&
        report.expenses === undefined
      ) {
        const ctx =
          isObject(msg.concur) && isObject(msg.concur.report) && typeof msg.concur.report.url === 'string'
            ? /\/context\/([A-Z]+)\//.exec(msg.concur.report.url)?.[1]
            : undefined;
        expenses = await fetchV4Expenses(conn.api, report, ctx ?? 'TRAVELER');
        msg.expenses = expenses;
      }
      const view = toReportView(report, { expenses, allocations: msg.allocations, attendees: msg.attendees });
      const missing = missingExpenses(view, compiled.rules, expenses, report);
      if (missing) throw new ReportViewError(missing);
      const result = await validateReport(compiled.rules, view, { defaultVisibility: visibility, bindings: { msg } });
      msg.validation = result;
      if (view.header.reportId && msg.reportId === undefined) msg.reportId = view.header.reportId;
      if (view.header.reportKey && msg.reportKey === undefined) msg.reportKey = view.header.reportKey;
      if (!result.passed) {
        msg.exceptions = result.exceptions;
        flagged++;
        send([null, msg]);
      } else if (!result.errors.length) {
        passed++;
        send([msg, null]);
      }
      return result;
    }

    node.on('input', (msg: NodeMessage, send: SendFn, done: DoneFn) => {
      handle(msg, send)
        .then(
          (result) => {
            paint(result);
            if (result.errors.length) {
              // Withheld from output 1: a report is not "passed" when a rule could not check it.
              done(
                Object.assign(
                  new Error(
                    `${result.errors.length} rule(s) failed on report ${result.reportId ?? ''}: ${result.errors.map((e) => e.message).join('; ')}`.slice(
                      0,
                      2000,
                    ),
                  ),
                  { code: 'RULE_FAILED' },
                ),
              );
            } else done();
          },
          (err) => {
            paint(undefined, (err as Error).message);
            done(err instanceof Error ? err : new Error(String(err)));
          },
        )
        .catch((e) => node.error(e));
    });
    node.on('close', () => {
      closed = true;
      RED.events?.removeListener('flows:started', deployStatus);
    });
  }
  RED.nodes.registerType('concur-validate', ConcurValidate);
};
