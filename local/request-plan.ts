/**
 * What a DynamoDB request touches, for the partition model (local/partition-model.ts): each
 * (table or index, partition key value) it reads or writes and how many units, and what to
 * remember about the item if the request succeeds (its size, its index key attributes).
 *
 * Units (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html):
 * - PutItem / DeleteItem / UpdateItem: 1 write unit per started KB of item. UpdateItem costs
 *   the larger of the item's size before and after; the request alone does not tell the new
 *   size, so the CHOICE is: max(size last seen for the item, key + every value and name in
 *   the request). A write refused by its condition still consumes its units.
 * - TransactWriteItems: 2x per item (index writes 2x as well: conservative). BatchWriteItem:
 *   per item; a batch touching a throttled partition is refused whole (DynamoDB would return
 *   some UnprocessedItems instead; simplification).
 * - GSI writes (sparse: an item is in the index only with every index key attribute): one
 *   write of the item's size per index the item is in before or after the write (all
 *   attributes are projected, so any update of an indexed item rewrites its index entry);
 *   an update that changes the index key costs a delete on the old partition and a put on
 *   the new one. Which items are in which index is tracked from the writes that pass here
 *   (exact when every write goes through the model, as in the local runs).
 * - Reads: GetItem 1 unit per 4 KB (0.5 eventually consistent), Query charged on the queried
 *   partition for the bytes it returned (GSI queries are eventually consistent). Scan is not
 *   metered (no partition key).
 */
import type { TableDefinition } from '../contract/table-definitions';

export type Kind = 'read' | 'write';
/** A field of an AWS JSON request body, read loosely (any DynamoDB operation's shape). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
type AttributeValue = Record<string, unknown>;
type Item = Record<string, AttributeValue>;

export interface Touch {
  readonly resource: string;
  readonly key: string;
  readonly kind: Kind;
  units: number;
  /** An index write: made only if the base write succeeds. */
  readonly indexWrite: boolean;
}

/** What a request will do, and what to remember about the item if it succeeds. */
export interface Plan {
  readonly touches: Touch[];
  readonly commit: Array<() => void>;
  /** A Query: charged by the bytes it returns. */
  readonly query?: { readonly touch: Touch; readonly consistent: boolean };
}

export const KB = 1024;
const valueText = (v: AttributeValue | undefined): string | undefined => {
  if (!v) return undefined;
  const s = v.S ?? v.N ?? v.B;
  return s === undefined ? undefined : String(s);
};
const sizeOf = (x: unknown) => (x === undefined ? 0 : JSON.stringify(x).length);

/** The `<path> = <expr>` and removed paths of an UpdateExpression, top level only. */
export function parseUpdateExpression(expression: string): { set: Map<string, string>; remove: Set<string> } {
  const set = new Map<string, string>();
  const remove = new Set<string>();
  const clauses = expression.split(/\b(SET|REMOVE|ADD|DELETE)\b/i);
  for (let i = 1; i < clauses.length; i += 2) {
    const verb = clauses[i].toUpperCase();
    const parts: string[] = [];
    let depth = 0;
    let start = 0;
    const body = clauses[i + 1] ?? '';
    for (let j = 0; j < body.length; j++) {
      if (body[j] === '(') depth++;
      else if (body[j] === ')') depth--;
      else if (body[j] === ',' && depth === 0) {
        parts.push(body.slice(start, j));
        start = j + 1;
      }
    }
    parts.push(body.slice(start));
    for (const part of parts.map((p) => p.trim()).filter(Boolean)) {
      if (verb === 'SET') {
        const eq = part.indexOf('=');
        if (eq > 0) set.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
      } else if (verb === 'REMOVE') remove.add(part);
    }
  }
  return { set, remove };
}

/** Remembers the items written through it, so it can size updates and deletes and track index membership. */
export class RequestPlanner {
  /** Base item (table, pk, sk) -> its size and index key attributes, as last written. */
  private readonly items = new Map<string, { size: number; keys: Record<string, string> }>();

  constructor(private readonly tables: Readonly<Record<string, TableDefinition>>) {}

  /** What one request (operation from X-Amz-Target, parsed JSON body) touches, and what to remember if it succeeds. */
  plan(op: string, input: Record<string, Json>): Plan {
    const plan: Plan = { touches: [], commit: [] };
    switch (op) {
      case 'PutItem':
        this.planWrite(plan, input.TableName, 'put', input.Item, input, 1);
        break;
      case 'UpdateItem':
        this.planWrite(plan, input.TableName, 'update', input.Key, input, 1);
        break;
      case 'DeleteItem':
        this.planWrite(plan, input.TableName, 'delete', input.Key, input, 1);
        break;
      case 'BatchWriteItem':
        for (const [table, requests] of Object.entries((input.RequestItems ?? {}) as Record<string, Json[]>)) {
          for (const r of requests) {
            if (r.PutRequest) this.planWrite(plan, table, 'put', r.PutRequest.Item, {}, 1);
            else if (r.DeleteRequest) this.planWrite(plan, table, 'delete', r.DeleteRequest.Key, {}, 1);
          }
        }
        break;
      case 'TransactWriteItems':
        for (const t of (input.TransactItems ?? []) as Json[]) {
          if (t.Put) this.planWrite(plan, t.Put.TableName, 'put', t.Put.Item, t.Put, 2);
          else if (t.Update) this.planWrite(plan, t.Update.TableName, 'update', t.Update.Key, t.Update, 2);
          else if (t.Delete) this.planWrite(plan, t.Delete.TableName, 'delete', t.Delete.Key, t.Delete, 2);
          else if (t.ConditionCheck) this.planWrite(plan, t.ConditionCheck.TableName, 'check', t.ConditionCheck.Key, t.ConditionCheck, 2);
        }
        break;
      case 'GetItem':
        this.planRead(plan, input.TableName, input.Key, input.ConsistentRead === true, 1);
        break;
      case 'BatchGetItem':
        for (const [table, r] of Object.entries((input.RequestItems ?? {}) as Record<string, Json>)) {
          for (const key of r.Keys ?? []) this.planRead(plan, table, key, r.ConsistentRead === true, 1);
        }
        break;
      case 'TransactGetItems':
        for (const t of (input.TransactItems ?? []) as Json[]) if (t.Get) this.planRead(plan, t.Get.TableName, t.Get.Key, true, 2);
        break;
      case 'Query':
        this.planQuery(plan, input);
        break;
      default:
        break;
    }
    return plan;
  }

  private definition(table: string): TableDefinition | undefined {
    return this.tables[table];
  }

  private itemId(table: string, def: TableDefinition, key: Item): string {
    return JSON.stringify([table, valueText(key[def.partitionKey.name]), def.sortKey ? valueText(key[def.sortKey.name]) : '']);
  }

  private planRead(plan: Plan, table: string, key: Item, consistent: boolean, factor: number): void {
    const def = this.definition(table);
    const pk = def && valueText(key?.[def.partitionKey.name]);
    if (!def || pk === undefined) return;
    const size = this.items.get(this.itemId(table, def, key))?.size ?? 1;
    plan.touches.push({ resource: table, key: pk, kind: 'read', units: Math.ceil(size / (4 * KB)) * (consistent ? 1 : 0.5) * factor, indexWrite: false });
  }

  private planQuery(plan: Plan, input: Record<string, Json>): void {
    const def = this.definition(input.TableName);
    if (!def) return;
    const index = def.globalSecondaryIndexes?.find((i) => i.indexName === input.IndexName);
    const pkName = index ? index.partitionKey.name : def.partitionKey.name;
    const names = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
    const values = (input.ExpressionAttributeValues ?? {}) as Item;
    // `<pk> = :value`, the pk written as itself or as a #name.
    let key: string | undefined;
    for (const m of String(input.KeyConditionExpression ?? '').matchAll(/(#?[\w.]+)\s*=\s*(:[\w]+)/g)) {
      const name = m[1].startsWith('#') ? names[m[1]] : m[1];
      if (name === pkName) key = valueText(values[m[2]]);
    }
    if (key === undefined) return;
    const consistent = !index && input.ConsistentRead === true;
    const touch: Touch = { resource: index ? `${input.TableName}/index/${index.indexName}` : input.TableName, key, kind: 'read', units: consistent ? 1 : 0.5, indexWrite: false };
    plan.touches.push(touch);
    (plan as { query?: Plan['query'] }).query = { touch, consistent };
  }

  private planWrite(plan: Plan, table: string, kind: 'put' | 'update' | 'delete' | 'check', keyOrItem: Item, request: Record<string, Json>, factor: number): void {
    const def = this.definition(table);
    const pk = def && valueText(keyOrItem?.[def.partitionKey.name]);
    if (!def || pk === undefined) return;
    const id = this.itemId(table, def, keyOrItem);
    const before = this.items.get(id);
    const indexAttributes = new Set((def.globalSecondaryIndexes ?? []).flatMap((i) => [i.partitionKey.name, ...(i.sortKey ? [i.sortKey.name] : [])]));

    let size: number;
    let after: Record<string, string> | undefined;
    if (kind === 'put') {
      size = sizeOf(keyOrItem);
      after = {};
      for (const a of indexAttributes) {
        const v = valueText(keyOrItem[a]);
        if (v !== undefined) after[a] = v;
      }
    } else if (kind === 'update') {
      size = Math.max(before?.size ?? 0, sizeOf(keyOrItem) + sizeOf(request.ExpressionAttributeValues) + sizeOf(request.ExpressionAttributeNames));
      after = { ...(before?.keys ?? {}) };
      const names = (request.ExpressionAttributeNames ?? {}) as Record<string, string>;
      const values = (request.ExpressionAttributeValues ?? {}) as Item;
      const resolve = (path: string) => (path.startsWith('#') ? names[path] : path);
      const { set, remove } = parseUpdateExpression(String(request.UpdateExpression ?? ''));
      for (const [path, expr] of set) {
        const name = resolve(path);
        if (!name || !indexAttributes.has(name)) continue;
        const plain = /^:[\w]+$/.exec(expr);
        const ifNotExists = /^if_not_exists\s*\(\s*[#\w.]+\s*,\s*(:[\w]+)\s*\)$/.exec(expr);
        const v = plain ? valueText(values[expr]) : ifNotExists ? (after[name] ?? valueText(values[ifNotExists[1]])) : (after[name] ?? '?');
        if (v !== undefined) after[name] = v;
      }
      for (const path of remove) {
        const name = resolve(path);
        if (name) delete after[name];
      }
    } else {
      size = before?.size ?? sizeOf(keyOrItem);
      after = kind === 'delete' ? undefined : before?.keys;
    }

    plan.touches.push({ resource: table, key: pk, kind: 'write', units: Math.max(1, Math.ceil(size / KB)) * factor, indexWrite: false });
    if (kind === 'check') return;
    for (const index of def.globalSecondaryIndexes ?? []) {
      const inIndex = (keys: Record<string, string> | undefined) =>
        keys !== undefined && keys[index.partitionKey.name] !== undefined && (!index.sortKey || keys[index.sortKey.name] !== undefined);
      const resource = `${table}/index/${index.indexName}`;
      const wasIn = inIndex(before?.keys);
      const isIn = inIndex(after);
      const oldKey = wasIn ? before!.keys[index.partitionKey.name] : undefined;
      const newKey = isIn ? after![index.partitionKey.name] : undefined;
      const entryUnits = (bytes: number) => Math.max(1, Math.ceil(bytes / KB)) * factor;
      if (oldKey !== undefined && oldKey !== newKey) plan.touches.push({ resource, key: oldKey, kind: 'write', units: entryUnits(before!.size), indexWrite: true });
      if (newKey !== undefined) plan.touches.push({ resource, key: newKey, kind: 'write', units: entryUnits(size), indexWrite: true });
    }
    plan.commit.push(() => {
      if (kind === 'delete') this.items.delete(id);
      else this.items.set(id, { size, keys: after ?? {} });
    });
  }
}
