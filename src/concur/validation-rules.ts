/**
 * Validation rules for expense reports: each rule is a JSONata condition
 * (https://docs.jsonata.org/) evaluated against the normalised report view
 * (report-view.ts) once per report, entry, allocation or attendee. A rule that
 * fires yields a finding and an exception in the shape `concur-post-exceptions`
 * takes (report-exceptions.ts), which posts it with the v4 Exceptions API
 * (https://developer.concur.com/api-reference/expense/expense-report/v4.exceptions.html)
 * or the v1.1 Post Report Exceptions API
 * (https://developer.concur.com/api-reference/expense/expense-report/post-report-exceptions.html).
 *
 * Rules are compiled once (compileRules) and then run on many reports
 * (validateReport). Most conditions run on a synchronous evaluator of the
 * common JSONata subset (jsonata-fast.ts); everything else, and every value
 * that evaluator is unsure of, goes to jsonata itself.
 */
import jsonata from 'jsonata';
import { BAIL, compileFast, truthy, type FastFn, type Vars } from './jsonata-fast';
import type { AllocationView, AttendeeView, EntryView, ReportView } from './report-view';
import { EXCEPTION_VISIBILITIES, MAX_EXCEPTIONS, type ExceptionVisibility } from './report-exceptions';

export type RuleScope = 'report' | 'entry' | 'allocation' | 'attendee';
export const RULE_SCOPES: readonly RuleScope[] = ['report', 'entry', 'allocation', 'attendee'];
/** Where the exception goes in Concur; `auto` follows the scope (an attendee rule flags its entry). */
export type RuleLevel = 'auto' | 'report' | 'entry' | 'allocation';
export const RULE_LEVELS: readonly RuleLevel[] = ['auto', 'report', 'entry', 'allocation'];
export const MAX_RULES = 2000;
/** Concur's exception code rule (v4: 1-8 characters). */
const CODE_RE = /^\S{1,8}$/;

/** A rule as the editor, msg.rules or a context variable gives it. */
export interface RuleDefinition {
  name: string;
  scope?: RuleScope;
  /** JSONata; the rule fires when it evaluates to true (JSONata's $boolean of the result). */
  condition: string;
  exceptionCode: string;
  level?: RuleLevel;
  /** ALL | APPROVER_PROCESSOR | PROCESSOR; empty: the node's default. */
  visibility?: ExceptionVisibility | '';
  /** Readable message with {{path}} placeholders: report, header, entry, allocation, attendee, rule. */
  message?: string;
  enabled?: boolean;
  /** Preset id the rule came from (informational). */
  preset?: string;
}

export interface RuleProblem {
  index: number;
  name: string;
  field: 'rule' | 'name' | 'scope' | 'condition' | 'exceptionCode' | 'level' | 'visibility' | 'message' | 'enabled';
  message: string;
}

export interface CompiledRule {
  index: number;
  name: string;
  scope: RuleScope;
  level: Exclude<RuleLevel, 'auto'>;
  exceptionCode: string;
  visibility?: ExceptionVisibility;
  condition: string;
  /** Synchronous evaluator, when the condition is in the supported subset. */
  fast?: FastFn;
  expression: jsonata.Expression;
  message: TemplatePart[];
}

type TemplatePart = string | { path: string[] };

export class RuleSetError extends Error {
  constructor(readonly problems: RuleProblem[]) {
    super(`${problems.length} rule problem(s): ${problems.map((p) => `rule ${p.index + 1} "${p.name}": ${p.message}`).join('; ')}`.slice(0, 2000));
    this.name = 'RuleSetError';
  }
}

const DEFAULT_LEVEL: Record<RuleScope, Exclude<RuleLevel, 'auto'>> = { report: 'report', entry: 'entry', allocation: 'allocation', attendee: 'entry' };

function compileTemplate(t: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  const re = /\{\{\s*([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)\s*\}\}/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(t))) {
    if (m.index > last) parts.push(t.slice(last, m.index));
    parts.push({ path: m[1].split('.') });
    last = re.lastIndex;
  }
  if (last < t.length) parts.push(t.slice(last));
  return parts;
}

interface TemplateRoots {
  report: ReportView;
  entry?: EntryView;
  allocation?: AllocationView;
  attendee?: AttendeeView;
  rule: { name: string; exceptionCode: string; scope: RuleScope };
}

function rootOf(roots: TemplateRoots, name: string): unknown {
  switch (name) {
    case 'report':
      return roots.report;
    case 'header':
      return roots.report.header;
    case 'entry':
      return roots.entry;
    case 'allocation':
      return roots.allocation;
    case 'attendee':
      return roots.attendee;
    case 'rule':
      return roots.rule;
    default:
      return undefined;
  }
}

function renderTemplate(parts: TemplatePart[], roots: TemplateRoots): string {
  let out = '';
  for (const p of parts) {
    if (typeof p === 'string') {
      out += p;
      continue;
    }
    let v: unknown = rootOf(roots, p.path[0]);
    for (let i = 1; i < p.path.length; i++) {
      const k = p.path[i];
      v = v && typeof v === 'object' && Object.hasOwn(v, k) ? (v as Record<string, unknown>)[k] : undefined;
    }
    out += v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
  return out;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v.trim() : '';
}

/** Where a JSONata compile error points, for the editor. */
function jsonataProblem(e: unknown): string {
  const err = e as { message?: string; position?: number; token?: string; code?: string };
  const at = typeof err.position === 'number' ? ` (at character ${err.position})` : '';
  return `condition does not compile: ${err.message ?? String(e)}${at}`;
}

/**
 * Checks and compiles a rule list. Every rule is checked; problems are
 * returned together (the editor marks each rule) and compiled rules only for
 * the valid, enabled ones.
 */
export function compileRules(list: unknown): { rules: CompiledRule[]; problems: RuleProblem[] } {
  const problems: RuleProblem[] = [];
  const rules: CompiledRule[] = [];
  if (!Array.isArray(list))
    return { rules, problems: [{ index: -1, name: '', field: 'rule', message: 'rules must be an array of { name, scope, condition, exceptionCode, ... }' }] };
  if (list.length > MAX_RULES) return { rules, problems: [{ index: -1, name: '', field: 'rule', message: `${list.length} rules; at most ${MAX_RULES}` }] };
  list.forEach((raw, index) => {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
      problems.push({ index, name: '', field: 'rule', message: 'a rule must be an object' });
      return;
    }
    const r = raw as Record<string, unknown>;
    const name = str(r.name);
    const shown = name || `rule ${index + 1}`;
    const bad = (field: RuleProblem['field'], message: string) => problems.push({ index, name: shown, field, message });
    const before = problems.length;
    if (!name) bad('name', 'a name is required');
    else if (name.length > 200) bad('name', 'the name is longer than 200 characters');
    if (r.enabled !== undefined && typeof r.enabled !== 'boolean') bad('enabled', 'enabled must be true or false');
    const scope = (str(r.scope) || 'entry') as RuleScope;
    if (!RULE_SCOPES.includes(scope)) bad('scope', `scope must be one of ${RULE_SCOPES.join(', ')}`);
    const levelIn = (str(r.level) || 'auto') as RuleLevel;
    if (!RULE_LEVELS.includes(levelIn)) bad('level', `level must be one of ${RULE_LEVELS.join(', ')}`);
    const level = levelIn === 'auto' ? (DEFAULT_LEVEL[scope] ?? 'report') : levelIn;
    if (level === 'entry' && scope === 'report') bad('level', 'a report-scope rule has no entry to put an Entry exception on');
    if (level === 'allocation' && scope !== 'allocation') bad('level', 'an Allocation exception needs an allocation-scope rule');
    const code = str(r.exceptionCode);
    if (!CODE_RE.test(code)) bad('exceptionCode', 'the exception code must be 1 to 8 characters without spaces (a code configured in Concur)');
    const vis = str(r.visibility).toUpperCase();
    if (vis && !(EXCEPTION_VISIBILITIES as readonly string[]).includes(vis))
      bad('visibility', `visibility must be one of ${EXCEPTION_VISIBILITIES.join(', ')}`);
    if (r.message !== undefined && r.message !== null && typeof r.message !== 'string') bad('message', 'the message must be text');
    else if (typeof r.message === 'string' && r.message.length > 1000) bad('message', 'the message is longer than 1000 characters');
    const condition = typeof r.condition === 'string' ? r.condition : '';
    let expression: jsonata.Expression | undefined;
    if (!condition.trim()) bad('condition', 'a condition is required');
    else if (condition.length > 10000) bad('condition', 'the condition is longer than 10000 characters');
    else {
      try {
        expression = jsonata(condition);
      } catch (e) {
        bad('condition', jsonataProblem(e));
      }
    }
    if (problems.length > before || !expression || r.enabled === false) return;
    rules.push({
      index,
      name,
      scope,
      level,
      exceptionCode: code,
      visibility: vis ? (vis as ExceptionVisibility) : undefined,
      condition,
      fast: compileFast(expression.ast()),
      expression,
      message: compileTemplate(typeof r.message === 'string' && r.message.trim() ? r.message : `{{rule.name}}`),
    });
  });
  return { rules, problems };
}

/** Compiles and throws one error naming every bad rule. */
export function compileRulesOrThrow(list: unknown): CompiledRule[] {
  const { rules, problems } = compileRules(list);
  if (problems.length) throw new RuleSetError(problems);
  return rules;
}

export interface FindingTarget {
  scope: RuleScope;
  /** Position in the report's entries / allocations / attendees. */
  index?: number;
  entryId?: string;
  allocationId?: string;
  attendeeId?: string;
}

export interface Finding {
  rule: string;
  ruleIndex: number;
  exceptionCode: string;
  level: Exclude<RuleLevel, 'auto'>;
  visibility: ExceptionVisibility;
  target: FindingTarget;
  message: string;
}

/** The shape concur-post-exceptions takes (msg.exceptions items). */
export interface ExceptionOut {
  exceptionCode: string;
  objectType: 'Report' | 'Entry' | 'Allocation';
  objectId?: string;
  expenseId?: string;
  allocationId?: string;
  visibility: ExceptionVisibility;
}

export interface RuleRunError {
  rule: string;
  ruleIndex: number;
  target: FindingTarget;
  message: string;
  code?: string;
}

export interface ValidationResult {
  passed: boolean;
  reportId?: string;
  source: ReportView['source'];
  findings: Finding[];
  exceptions: ExceptionOut[];
  /** Rules that threw; each stops only that rule, for this report. */
  errors: RuleRunError[];
  /** Findings that could not become exceptions (no id to post them on, or over the 500 per message). */
  unpostable: Array<{ finding: Finding; reason: string }>;
  counts: { rules: number; evaluations: number; fired: number; entries: number; allocations: number; attendees: number };
  summary: string;
}

export interface ValidateOptions {
  /** Visibility for rules that do not set one (default ALL). */
  defaultVisibility?: ExceptionVisibility;
  /** Extra JSONata variables (e.g. $msg in the node). */
  bindings?: Record<string, unknown>;
}

interface Item {
  input: unknown;
  vars: Vars;
  target: FindingTarget;
  entry?: EntryView;
  allocation?: AllocationView;
  attendee?: AttendeeView;
}

function itemsFor(view: ReportView, extra: Record<string, unknown>): Record<RuleScope, Item[]> {
  const base: Vars = { ...extra, report: view, header: view.header, entries: view.entries, allocations: view.allocations, attendees: view.attendees };
  const byId = new Map<string, EntryView>();
  for (const e of view.entries) if (e.id) byId.set(e.id, e);
  return {
    report: [{ input: view, vars: base, target: { scope: 'report' } }],
    entry: view.entries.map((e) => ({ input: e, vars: { ...base, entry: e }, target: { scope: 'entry', index: e.index, entryId: e.id }, entry: e })),
    allocation: view.allocations.map((a) => {
      const entry = a.entryId ? byId.get(a.entryId) : undefined;
      return {
        input: a,
        vars: { ...base, entry, allocation: a },
        target: { scope: 'allocation', index: a.index, entryId: a.entryId, allocationId: a.id },
        entry,
        allocation: a,
      };
    }),
    attendee: view.attendees.map((a) => {
      const entry = a.entryId ? byId.get(a.entryId) : undefined;
      return {
        input: a,
        vars: { ...base, entry, attendee: a },
        target: { scope: 'attendee', index: a.index, entryId: a.entryId, attendeeId: a.id },
        entry,
        attendee: a,
      };
    }),
  };
}

function exceptionFor(f: Finding): ExceptionOut | string {
  const t = f.target;
  if (f.level === 'report') return { exceptionCode: f.exceptionCode, objectType: 'Report', visibility: f.visibility };
  if (f.level === 'entry') {
    if (!t.entryId) return 'the entry has no id to post an Entry exception on';
    return { exceptionCode: f.exceptionCode, objectType: 'Entry', objectId: t.entryId, visibility: f.visibility };
  }
  if (!t.allocationId) return 'the allocation has no id to post an Allocation exception on';
  // v4 needs both ids (…/expenses/{expenseId}/allocations/{allocationId}/exceptions); v1.1 only the AllocationKey.
  return {
    exceptionCode: f.exceptionCode,
    objectType: 'Allocation',
    objectId: t.allocationId,
    ...(t.entryId ? { expenseId: t.entryId } : {}),
    allocationId: t.allocationId,
    visibility: f.visibility,
  };
}

function where(t: FindingTarget): string {
  if (t.scope === 'report') return 'report';
  return `${t.scope} ${(t.index ?? 0) + 1}${t.entryId && t.scope !== 'entry' ? ` of entry ${t.entryId}` : ''}`;
}

/** Runs compiled rules on one report view. Never throws for a rule's error: it is in result.errors. */
export async function validateReport(rules: CompiledRule[], view: ReportView, opts: ValidateOptions = {}): Promise<ValidationResult> {
  const defVis = opts.defaultVisibility ?? 'ALL';
  const items = itemsFor(view, opts.bindings ?? {});
  const findings: Finding[] = [];
  const errors: RuleRunError[] = [];
  let evaluations = 0;
  for (const rule of rules) {
    const list = items[rule.scope];
    const ruleInfo = { name: rule.name, exceptionCode: rule.exceptionCode, scope: rule.scope };
    const visibility = rule.visibility ?? defVis;
    const fast = rule.fast;
    for (let n = 0; n < list.length; n++) {
      const item = list[n];
      evaluations++;
      let result: unknown;
      try {
        result = fast ? fast(item.input, item.vars) : BAIL;
        if (result === BAIL) result = await rule.expression.evaluate(item.input, item.vars);
      } catch (e) {
        const err = e as { message?: string; code?: string };
        errors.push({
          rule: rule.name,
          ruleIndex: rule.index,
          target: item.target,
          message: `rule "${rule.name}" failed on ${where(item.target)}: ${err.message ?? String(e)}`,
          code: err.code,
        });
        break; // the same rule would most likely fail on every item; the other rules go on
      }
      if (result !== true && !truthy(result)) continue;
      const message = renderTemplate(rule.message, { report: view, entry: item.entry, allocation: item.allocation, attendee: item.attendee, rule: ruleInfo });
      findings.push({ rule: rule.name, ruleIndex: rule.index, exceptionCode: rule.exceptionCode, level: rule.level, visibility, target: item.target, message });
    }
  }
  const exceptions: ExceptionOut[] = [];
  const unpostable: ValidationResult['unpostable'] = [];
  const seen = new Set<string>();
  for (const f of findings) {
    const x = exceptionFor(f);
    if (typeof x === 'string') {
      unpostable.push({ finding: f, reason: x });
      continue;
    }
    // Concur keeps one exception per code and object; posting it twice adds nothing.
    const key = `${x.exceptionCode}|${x.objectType}|${x.objectId ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (exceptions.length >= MAX_EXCEPTIONS) {
      unpostable.push({ finding: f, reason: `more than ${MAX_EXCEPTIONS} exceptions (the most one concur-post-exceptions message takes)` });
      continue;
    }
    exceptions.push(x);
  }
  const reportId = view.header.reportId ?? view.header.reportKey;
  const head = findings.length
    ? `${findings.length} finding(s), ${exceptions.length} exception(s) on report ${reportId ?? '(no id)'}`
    : `report ${reportId ?? '(no id)'} passed ${rules.length} rule(s)`;
  const lines = findings.slice(0, 50).map((f) => `- ${f.exceptionCode} ${f.rule} (${where(f.target)}): ${f.message}`);
  if (findings.length > 50) lines.push(`- … and ${findings.length - 50} more`);
  for (const e of errors) lines.push(`- ERROR ${e.message}`);
  return {
    passed: findings.length === 0,
    reportId,
    source: view.source,
    findings,
    exceptions,
    errors,
    unpostable,
    counts: {
      rules: rules.length,
      evaluations,
      fired: new Set(findings.map((f) => f.ruleIndex)).size,
      entries: view.entries.length,
      allocations: view.allocations.length,
      attendees: view.attendees.length,
    },
    summary: [head, ...lines].join('\n'),
  };
}
