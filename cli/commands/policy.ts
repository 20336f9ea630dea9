/**
 * `redrivectl policy list | get | put | delete | validate`: the policy table, validated
 * with the Lambda's own schema (lambda/policy/redrive-policy.ts).
 */
import { Command, Option } from 'commander';
import { policyItemSchema, policyToItem, type PolicyIssue } from '../../contract/policy-schema';
import { confirm } from '../confirm';
import { type CliContext, withContext } from '../context';
import { failed, usage } from '../errors';
import { readJson } from '../files';
import { cell, table } from '../output';
import { policyKeyProblem } from '../../contract/policy-key';
import { checkItem, expectationOf, type Expectation, PolicyStore, type StoredPolicy } from '../policy-store';
import { managingStack } from '../../contract/policy-resource';
import { breakerMap, FIELD_FLAGS, FLAG_OF, itemFromFlags } from './policy-flags';

const META_FIELDS = new Set(['updatedAt', 'updatedBy']);

// ---- managed items (RedrivePolicy in a CDK app) -------------------------------------

/** The stack and construct that deploy this item, if a CDK app manages it. */
function managedByOf(stored: StoredPolicy | undefined): string | undefined {
  const m = stored?.item.managedBy;
  return typeof m === 'string' && m !== '' ? m : undefined;
}

/**
 * A managed item is changed in its CDK app: the stack's next deploy that updates it
 * overwrites a change made here. `--force` is for when that cannot wait (an incident).
 */
function checkManaged(ctx: CliContext, command: string, stored: StoredPolicy | undefined, force: boolean | undefined): void {
  const managedBy = managedByOf(stored);
  if (!managedBy) return;
  const what = `policy '${stored!.key}' is managed by CloudFormation stack ${managingStack(managedBy)} (RedrivePolicy ${managedBy})`;
  if (!force) {
    throw failed(`${command}: ${what}: change it in that CDK app and deploy`, [
      'a change made here is overwritten by the next deploy that updates this policy;',
      'use --force to change it anyway (to stop redrives at once, prefer `redrivectl pause`)',
    ]);
  }
  ctx.out.note(`${what}; --force: the next deploy that updates it overwrites this change`);
}

/** `prefix field: message` per issue; `flags`: name the put flag that sets the field. */
function issueLines(prefix: string, issues: readonly PolicyIssue[], flags = false): string[] {
  return issues.map((i) => `${prefix}${i.field}${flags && FLAG_OF[i.field] ? ` (${FLAG_OF[i.field]})` : ''}: ${i.message}`);
}

function keyOrFail(key: string, what: string): void {
  const problem = policyKeyProblem(key);
  if (problem) throw usage(`${what}: ${problem}`);
}

// ---- diff -------------------------------------------------------------------------

export interface FieldChange {
  readonly field: string;
  readonly change: 'added' | 'changed' | 'removed';
  readonly stored: unknown;
  readonly new: unknown;
}

export function diffItems(stored: Record<string, unknown> | undefined, next: Record<string, unknown>): FieldChange[] {
  const before = stored ?? {};
  const fields = [...new Set([...Object.keys(before), ...Object.keys(next)])].filter((f) => !META_FIELDS.has(f));
  const order = Object.keys(policyItemSchema.shape);
  fields.sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99) || a.localeCompare(b));
  const changes: FieldChange[] = [];
  for (const field of fields) {
    const a = before[field];
    const b = next[field];
    if (JSON.stringify(a) === JSON.stringify(b)) continue;
    changes.push({ field, change: a === undefined ? 'added' : b === undefined ? 'removed' : 'changed', stored: a, new: b });
  }
  return changes;
}

const MARK = { added: '+', changed: '~', removed: '-' } as const;

function renderDiff(key: string, stored: StoredPolicy | undefined, changes: readonly FieldChange[]): string {
  const head = `${stored ? 'update' : 'create'} policy ${key}`;
  if (changes.length === 0) return `${head}: no changes`;
  return `${head}:\n${table(changes, [
    { header: ' ', value: (c) => MARK[c.change] },
    { header: 'field', value: (c) => c.field },
    { header: 'stored', value: (c) => c.stored },
    { header: 'new', value: (c) => c.new },
  ])}`;
}

// ---- put --------------------------------------------------------------------------

interface PutOptions extends Record<string, unknown> {
  fromFile?: string;
  unset?: string;
  yes?: boolean;
  force?: boolean;
}

interface PlannedWrite {
  readonly key: string;
  readonly stored: StoredPolicy | undefined;
  readonly item: Record<string, unknown>;
  readonly changes: FieldChange[];
  readonly expect: Expectation;
}

/** Validates one plain item and returns it normalized by the schema (only the fields it has). */
function normalize(item: Record<string, unknown>, where: string, flags = false): Record<string, unknown> {
  const { issues } = checkItem(item);
  if (issues.length > 0) {
    const lines = issueLines(`${where}: `, issues, flags);
    throw usage(lines[0], lines.slice(1));
  }
  const data = policyItemSchema.parse(item) as Record<string, unknown>;
  for (const f of META_FIELDS) delete data[f];
  return data;
}

async function put(ctx: CliContext, key: string | undefined, options: PutOptions): Promise<void> {
  const store = new PolicyStore(ctx.dynamodb(), ctx.policyTable);
  const flags = itemFromFlags(options);
  const planned: PlannedWrite[] = [];

  if (options.fromFile) {
    if (key !== undefined || Object.keys(flags).length > 0 || options.unset !== undefined) {
      throw usage('policy put: --from-file takes the whole items from the file; do not combine it with a key or field flags');
    }
    const file = options.fromFile;
    const doc = readJson(file);
    const items = Array.isArray(doc) ? doc : [doc];
    if (items.length === 0) throw usage(`${file}: no policy items`);
    // Validate everything before reading or writing anything: all or nothing.
    const problems: string[] = [];
    const normalized: Record<string, unknown>[] = [];
    const seen = new Map<string, number>();
    items.forEach((raw, i) => {
      const k = typeof raw?.stateMachine === 'string' ? raw.stateMachine : '(no stateMachine key)';
      const where = `${file}: item ${i + 1} (${k})`;
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
        problems.push(`${file}: item ${i + 1}: must be a JSON object`);
        return;
      }
      const { issues } = checkItem(raw);
      if (issues.length) problems.push(...issueLines(`${where}: `, issues));
      else normalized.push(normalize(raw as Record<string, unknown>, where));
      if (seen.has(k)) problems.push(`${where}: the same key as item ${seen.get(k)}`);
      else seen.set(k, i + 1);
    });
    if (problems.length > 0) throw usage(problems[0], problems.slice(1));
    for (const item of normalized) {
      const k = item.stateMachine as string;
      const stored = await store.get(k);
      // A managed item stays managed, so its stack still updates and deletes it.
      const managedBy = managedByOf(stored);
      const next = managedBy && item.managedBy === undefined ? { ...item, managedBy } : item;
      planned.push({ key: k, stored, item: next, changes: diffItems(stored?.item, next), expect: expectationOf(stored) });
    }
  } else {
    if (key === undefined) throw usage('policy put: a policy key is required (or --from-file); see redrivectl policy put --help');
    keyOrFail(key, 'policy put');
    const stored = await store.get(key);
    if (!stored && Object.keys(flags).length === 0) {
      // A new policy with every default is allowed, but say so.
      ctx.out.note(`policy '${key}' does not exist yet; creating it with the defaults`);
    }
    const base = stored ? Object.fromEntries(Object.entries(stored.item).filter(([f]) => !META_FIELDS.has(f))) : { stateMachine: key };
    const merged: Record<string, unknown> = { ...base, ...flags, stateMachine: key };
    // Breaker flags change single settings; the rest of the stored map stays.
    if (flags.breaker !== undefined) merged.breaker = { ...breakerMap(base.breaker), ...breakerMap(flags.breaker) };
    // --unset: back to the default, or away with an attribute the schema rejects (a typo).
    for (const field of (options.unset ?? '').split(',').map((f) => f.trim()).filter(Boolean)) {
      if (field === 'stateMachine') throw usage('policy put: --unset stateMachine: the key cannot be removed (use policy delete)');
      const setByFlag = field in flags || (field.startsWith('breaker.') && field.slice('breaker.'.length) in breakerMap(flags.breaker));
      if (setByFlag) throw usage(`policy put: --unset ${field}: also set by ${FLAG_OF[field] ?? `--${field}`}`);
      if (field.startsWith('breaker.')) {
        const map = breakerMap(merged.breaker);
        delete map[field.slice('breaker.'.length)];
        if (Object.keys(map).length) merged.breaker = map;
        else delete merged.breaker;
      } else delete merged[field];
    }
    const item = normalize(merged, `policy put: ${key}`, true);
    planned.push({ key, stored, item, changes: diffItems(stored?.item, item), expect: expectationOf(stored) });
  }

  const changed = planned.filter((p) => p.changes.length > 0);
  for (const p of changed) checkManaged(ctx, 'policy put', p.stored, options.force);
  const result = {
    table: store.tableName,
    applied: false,
    policies: planned.map((p) => ({
      key: p.key,
      action: p.changes.length === 0 ? 'unchanged' : p.stored ? 'update' : 'create',
      changes: p.changes,
    })),
  };
  if (!ctx.out.json) ctx.out.text(planned.map((p) => renderDiff(p.key, p.stored, p.changes)).join('\n\n'));
  if (changed.length === 0) {
    ctx.out.document(result);
    return;
  }
  await confirm('policy put', `Write ${changed.length} polic${changed.length === 1 ? 'y' : 'ies'} to table ${store.tableName}?`, options.yes);
  const updatedAt = new Date().toISOString();
  const updatedBy = ctx.actor();
  await store.putAll(changed.map((p) => ({ item: { ...p.item, updatedAt, updatedBy }, expect: p.expect })));
  ctx.out.emit({ ...result, applied: true, updatedAt, updatedBy }, () =>
    changed.map((p) => `policy ${p.key} ${p.stored ? 'updated' : 'created'}`).join('\n'),
  );
}

// ---- list / get / delete / validate -----------------------------------------------

async function list(ctx: CliContext): Promise<void> {
  const store = new PolicyStore(ctx.dynamodb(), ctx.policyTable);
  const policies = await store.list();
  const value = (p: StoredPolicy, field: string) => (p.parsed.ok ? policyToItem(p.parsed.policy)[field] : p.item[field]);
  ctx.out.emit(
    {
      table: store.tableName,
      policies: policies.map((p) => ({ key: p.key, valid: p.issues.length === 0, managedBy: managedByOf(p) ?? null, item: p.item, issues: p.issues })),
    },
    () =>
      policies.length === 0
        ? `no policies in table ${store.tableName} (auto-redrive is opt-in: add one with redrivectl policy put)`
        : table(policies, [
            { header: 'key', value: (p) => p.key },
            { header: 'valid', value: (p) => (p.issues.length ? `no (${p.issues.length})` : 'yes') },
            { header: 'enabled', value: (p) => value(p, 'enabled') },
            { header: 'max', value: (p) => value(p, 'maxRedrives') },
            { header: 'interval', value: (p) => value(p, 'intervalSeconds') },
            { header: 'backoff', value: (p) => value(p, 'backoffRate') },
            { header: 'max-delay', value: (p) => value(p, 'maxDelaySeconds') },
            { header: 'jitter', value: (p) => value(p, 'jitter') },
            { header: 'statuses', value: (p) => value(p, 'statuses') },
            { header: 'dry-run', value: (p) => value(p, 'dryRun') },
            // Deployed by a CDK app (RedrivePolicy): change it there, not here.
            { header: 'managed-by', value: (p) => (managedByOf(p) ? `stack ${managingStack(managedByOf(p)!)}` : '-') },
            { header: 'breaker', value: (p) => (p.parsed.ok ? (p.parsed.policy.breaker.enabled ? 'on' : 'off') : p.item.breaker) },
            { header: 'updated', value: (p) => p.item.updatedAt },
          ]),
  );
}

async function get(ctx: CliContext, key: string): Promise<void> {
  keyOrFail(key, 'policy get');
  const store = new PolicyStore(ctx.dynamodb(), ctx.policyTable);
  const stored = await store.get(key);
  if (!stored) throw failed(`policy get: no policy '${key}' in table ${store.tableName}`);
  const effective = stored.parsed.ok ? policyToItem(stored.parsed.policy) : null;
  ctx.out.emit({ key, valid: stored.issues.length === 0, item: stored.item, effective, issues: stored.issues }, () => {
    const fields = [...new Set([...Object.keys(effective ?? {}), ...Object.keys(stored.item)])];
    const rows = fields.flatMap((f) => {
      if (f !== 'breaker') return [{ field: f, value: f in stored.item ? stored.item[f] : effective?.[f], source: f in stored.item ? 'stored' : 'default' }];
      // One row per breaker setting: which are stored, which are defaults.
      const own = 'breaker' in stored.item ? breakerMap(stored.item.breaker) : {};
      const all = { ...(effective?.breaker as Record<string, unknown> | undefined), ...own };
      return Object.keys(all).map((k) => ({ field: `breaker.${k}`, value: k in own ? own[k] : all[k], source: k in own ? 'stored' : 'default' }));
    });
    let text = table(rows, [
      { header: 'field', value: (r) => r.field },
      { header: 'value', value: (r) => r.value },
      { header: 'source', value: (r) => r.source },
    ]);
    if (stored.issues.length) text += `\n\nINVALID: the controller skips the state machines this policy governs (policy-invalid):\n${issueLines('  ', stored.issues).join('\n')}`;
    return text;
  });
}

async function remove(ctx: CliContext, key: string, options: { yes?: boolean; force?: boolean }): Promise<void> {
  keyOrFail(key, 'policy delete');
  const store = new PolicyStore(ctx.dynamodb(), ctx.policyTable);
  const stored = await store.get(key);
  if (!stored) throw failed(`policy delete: no policy '${key}' in table ${store.tableName}`);
  checkManaged(ctx, 'policy delete', stored, options.force);
  if (!ctx.out.json) {
    ctx.out.text(`delete policy ${key}:\n${Object.entries(stored.item).map(([f, v]) => `  - ${f}: ${cell(v)}`).join('\n')}`);
  }
  await confirm('policy delete', `Delete policy ${key} from table ${store.tableName}?`, options.yes);
  await store.delete(key, expectationOf(stored));
  ctx.out.emit({ table: store.tableName, key, deleted: true, item: stored.item }, () => `policy ${key} deleted`);
}

async function validate(ctx: CliContext, file: string | undefined): Promise<void> {
  let checked: Array<{ key: string; where: string; issues: readonly PolicyIssue[] }>;
  let source: string;
  if (file) {
    source = file;
    const doc = readJson(file);
    const items = Array.isArray(doc) ? doc : [doc];
    checked = items.map((raw, i) => {
      const key = typeof raw?.stateMachine === 'string' ? raw.stateMachine : '(no stateMachine key)';
      const isObject = typeof raw === 'object' && raw !== null && !Array.isArray(raw);
      return {
        key,
        where: `item ${i + 1}`,
        issues: isObject ? checkItem(raw).issues : [{ field: '(item)', message: 'must be a JSON object' }],
      };
    });
    const counts = new Map<string, number>();
    checked.forEach((c, i) => {
      if (counts.has(c.key)) checked[i] = { ...c, issues: [...c.issues, { field: 'stateMachine', message: `the same key as item ${counts.get(c.key)}` }] };
      else counts.set(c.key, i + 1);
    });
  } else {
    const store = new PolicyStore(ctx.dynamodb(), ctx.policyTable);
    source = `table ${store.tableName}`;
    checked = (await store.list()).map((p) => ({ key: p.key, where: 'stored', issues: p.issues }));
  }
  const issues = checked.flatMap((c) => c.issues.map((i) => ({ key: c.key, where: c.where, field: i.field, message: i.message })));
  const invalid = checked.filter((c) => c.issues.length > 0).length;
  ctx.out.emit({ source, checked: checked.length, invalid, issues }, () =>
    issues.length === 0
      ? `${source}: ${checked.length} polic${checked.length === 1 ? 'y' : 'ies'}, all valid`
      : table(issues, [
          { header: 'key', value: (i) => i.key },
          ...(file ? [{ header: 'item', value: (i: (typeof issues)[number]) => i.where }] : []),
          { header: 'field', value: (i) => i.field },
          { header: 'message', value: (i) => i.message },
        ]),
  );
  if (invalid > 0) throw failed(`policy validate: ${source}: ${invalid} of ${checked.length} polic${checked.length === 1 ? 'y is' : 'ies are'} invalid`);
}

// ---- commands ---------------------------------------------------------------------

const KEY_HELP = "policy key: '*', a state machine ARN, or a pattern with * (arn:aws:states:us-east-1:123456789012:stateMachine:orders-*)";

export function policyCommand(): Command {
  const policy = new Command('policy').description('list, show, change and validate redrive policies (the policy table)');
  policy.addHelpText(
    'after',
    `
A policy item is plain JSON, the format people also edit in the DynamoDB console:
  { "stateMachine": "arn:aws:states:us-east-1:123456789012:stateMachine:orders-*",
    "maxRedrives": 3, "intervalSeconds": 60, "backoffRate": 2, "maxDelaySeconds": 3600,
    "jitter": "FULL", "errorEquals": ["States.ALL"], "statuses": ["FAILED", "TIMED_OUT"],
    "enabled": true, "dryRun": false, "description": "...",
    "onExhausted": "skip", "holdMarginHours": 24,
    "breaker": { "enabled": true, "threshold": 20, "redriveFailureThreshold": 2, "windowSeconds": 300, "probeIntervalSeconds": 30,
                 "maxProbeIntervalSeconds": 240, "probeTimeoutSeconds": 900 } }
Every field but stateMachine is optional (the defaults are shown by 'policy get').
The outage breaker is on by default; "breaker": { "enabled": false } (or false) turns it off.

Examples:
  redrivectl policy list
  redrivectl policy get '*'
  redrivectl policy put 'arn:aws:states:us-east-1:123456789012:stateMachine:orders-*' --max-redrives 5 --jitter NONE
  redrivectl policy put --from-file policies.json --yes
  redrivectl policy delete arn:aws:states:us-east-1:123456789012:stateMachine:orders --yes
  redrivectl policy validate            # every stored item
  redrivectl policy validate policies.json`,
  );

  policy
    .command('list')
    .description('list every policy with its effective values, and which a CDK app manages')
    .addHelpText('after', '\nExamples:\n  redrivectl policy list\n  redrivectl policy list -o json')
    .action(withContext(list));

  policy
    .command('get')
    .description('show one policy: stored fields and the defaults that apply')
    .argument('<key>', KEY_HELP)
    .addHelpText('after', "\nExamples:\n  redrivectl policy get '*'\n  redrivectl policy get arn:aws:states:us-east-1:123456789012:stateMachine:orders -o json")
    .action(withContext(get));

  const putCmd = policy
    .command('put')
    .description('create or change a policy: flags are merged over the stored item, validated, shown as a diff, confirmed, written')
    .argument('[key]', KEY_HELP);
  for (const f of FIELD_FLAGS) putCmd.addOption(new Option(f.flag, f.help));
  putCmd
    .option('--unset <fields>', 'remove attributes from the stored item (back to the default; or a misspelt attribute)')
    .option('--from-file <file>', 'write the items of a JSON file (one item or an array); all are validated first, all or nothing')
    .option('--yes', 'do not ask for confirmation (required when stdin is not a terminal)')
    .option('--force', 'change a policy a CDK app manages (managedBy); its next deploy that updates it overwrites the change')
    .addHelpText(
      'after',
      `
Writes updatedAt and updatedBy (AUTO_REDRIVE_ACTOR, else user@host). Nothing is written
when a value is invalid, when nothing changes, or when the change is not confirmed.
A policy a CDK app deploys (RedrivePolicy, managedBy set) is changed in that app; put
refuses it without --force, and keeps managedBy when forced.
Items from --from-file replace the stored items as a whole.

Examples:
  redrivectl policy put '*' --max-redrives 2 --statuses FAILED,TIMED_OUT
  redrivectl policy put arn:aws:states:us-east-1:123456789012:stateMachine:orders --enabled false --yes
  redrivectl policy put arn:aws:states:us-east-1:123456789012:stateMachine:orders --dry-run-policy true
  redrivectl policy put arn:aws:states:us-east-1:123456789012:stateMachine:orders --breaker false
  redrivectl policy put '*' --breaker-redrive-failure-threshold 3 --on-exhausted hold
  redrivectl policy put arn:aws:states:us-east-1:123456789012:stateMachine:orders --unset maxRedrive,description
  redrivectl policy put --from-file policies.json`,
    )
    .action(withContext(put));

  policy
    .command('delete')
    .description('delete a policy (the state machines it governed fall back to a less specific policy, or to none)')
    .argument('<key>', KEY_HELP)
    .option('--yes', 'do not ask for confirmation')
    .option('--force', 'delete a policy a CDK app manages (managedBy); its next deploy that updates it writes it again')
    .addHelpText('after', '\nExamples:\n  redrivectl policy delete arn:aws:states:us-east-1:123456789012:stateMachine:orders --yes')
    .action(withContext(remove));

  policy
    .command('validate')
    .description('check every stored policy (or a JSON file) with the controller\'s schema; exit 1 if any is invalid')
    .argument('[file]', 'JSON file with one item or an array of items; without it, the policy table')
    .addHelpText('after', '\nExamples:\n  redrivectl policy validate\n  redrivectl policy validate policies.json -o json')
    .action(withContext(validate));

  return policy;
}
