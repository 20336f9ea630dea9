/**
 * What the Lambda code can send to AWS, read from the source: every `new XxxCommand(`
 * whose class is imported from an AWS SDK client, and every credential provider that
 * calls STS, in the files a handler can reach through its (non-type) imports. Mapped to
 * IAM actions, and for DynamoDB to the table the sending class is wired to (wiring.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..', '..', '..');
export const LAMBDA_DIR = join(ROOT, 'lambda');

/** lib-dynamodb document commands -> the DynamoDB operation they send. */
const DOCUMENT_COMMANDS: Record<string, string> = {
  Get: 'GetItem',
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  Query: 'Query',
  Scan: 'Scan',
  BatchGet: 'BatchGetItem',
  BatchWrite: 'BatchWriteItem',
  TransactGet: 'TransactGetItems',
  TransactWrite: 'TransactWriteItems',
  BatchExecuteStatement: 'PartiQLSelect',
  ExecuteStatement: 'PartiQLSelect',
};

const SERVICE_PREFIX: Record<string, string> = {
  '@aws-sdk/client-dynamodb': 'dynamodb',
  '@aws-sdk/lib-dynamodb': 'dynamodb',
  '@aws-sdk/client-sfn': 'states',
  '@aws-sdk/client-eventbridge': 'events',
  '@aws-sdk/client-sqs': 'sqs',
  '@aws-sdk/client-sts': 'sts',
};

/** Credential providers that call an AWS API with the function's own credentials. */
const CREDENTIAL_PROVIDERS: Record<string, string> = {
  fromTemporaryCredentials: 'sts:AssumeRole',
};

export interface SdkCall {
  readonly file: string;
  readonly action: string;
  readonly command: string;
}

interface ImportClause {
  readonly from: string;
  readonly typeOnly: boolean;
  /** local name -> exported name */
  readonly names: Map<string, string>;
}

function imports(source: string): ImportClause[] {
  const out: ImportClause[] = [];
  const re = /import\s+(type\s+)?([\s\S]*?)\s+from\s+'([^']+)';/g;
  for (let m = re.exec(source); m; m = re.exec(source)) {
    const names = new Map<string, string>();
    const braces = /\{([\s\S]*)\}/.exec(m[2]);
    if (braces) {
      for (const part of braces[1].split(',')) {
        const p = part.trim().replace(/^type\s+/, '');
        if (!p) continue;
        const [exported, local] = p.split(/\s+as\s+/);
        names.set((local ?? exported).trim(), exported.trim());
      }
    }
    out.push({ from: m[3], typeOnly: Boolean(m[1]), names });
  }
  return out;
}

function resolveLocal(fromFile: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const base = resolve(dirname(fromFile), spec);
  for (const candidate of [`${base}.ts`, join(base, 'index.ts')]) if (existsSync(candidate)) return candidate;
  return undefined;
}

/** Every repository file reachable from `entry` through runtime imports. */
export function reachableFiles(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const i of imports(readFileSync(file, 'utf8'))) {
      if (i.typeOnly) continue;
      const target = resolveLocal(file, i.from);
      if (target) visit(target);
    }
  };
  visit(entry);
  return seen;
}

/** The AWS calls one file can make. */
export function sdkCalls(file: string): SdkCall[] {
  const source = readFileSync(file, 'utf8');
  const calls: SdkCall[] = [];
  for (const i of imports(source)) {
    const prefix = SERVICE_PREFIX[i.from];
    for (const [local, exported] of i.names) {
      if (prefix && exported.endsWith('Command') && new RegExp(`new\\s+${local}\\s*\\(`).test(source)) {
        const op = exported.slice(0, -'Command'.length);
        const action = i.from === '@aws-sdk/lib-dynamodb' ? `dynamodb:${DOCUMENT_COMMANDS[op] ?? op}` : `${prefix}:${op}`;
        calls.push({ file: relative(ROOT, file), action, command: exported });
      }
      if (CREDENTIAL_PROVIDERS[exported] && new RegExp(`\\b${local}\\s*\\(`).test(source)) {
        calls.push({ file: relative(ROOT, file), action: CREDENTIAL_PROVIDERS[exported], command: exported });
      }
    }
  }
  return calls;
}

export type TableRole = 'policy' | 'ledger';

/**
 * Which table each DynamoDB-sending class is wired to, from wiring.ts: `new Xxx(..., config.policyTableName ...)`.
 * Returns file -> table.
 */
export function tableOfFiles(): Map<string, TableRole> {
  const wiring = join(LAMBDA_DIR, 'wiring.ts');
  const source = readFileSync(wiring, 'utf8');
  const classFile = new Map<string, string>();
  for (const i of imports(source)) {
    const file = resolveLocal(wiring, i.from);
    if (file) for (const [local] of i.names) classFile.set(local, file);
  }
  const out = new Map<string, TableRole>();
  const re = /new\s+(\w+)\(([^;()]*?)config\.(policyTableName|ledgerTableName)/g;
  for (let m = re.exec(source); m; m = re.exec(source)) {
    const file = classFile.get(m[1]);
    if (!file) continue;
    const table: TableRole = m[3] === 'policyTableName' ? 'policy' : 'ledger';
    const previous = out.get(file);
    if (previous && previous !== table) throw new Error(`${file} is wired to both tables`);
    out.set(file, table);
  }
  return out;
}

/**
 * A helper module that sends commands for the classes that import it (the byDue reader, say)
 * is not wired itself: it uses the table of its importers when they all agree.
 */
function inheritTables(wired: Map<string, TableRole>, files: Set<string>): Map<string, TableRole> {
  const out = new Map(wired);
  for (const file of files) {
    if (out.has(file)) continue;
    const roles = new Set<TableRole>();
    for (const [importer, role] of wired) {
      if (imports(readFileSync(importer, 'utf8')).some((i) => resolveLocal(importer, i.from) === file)) roles.add(role);
    }
    // Used for both tables (or neither): a module that sends commands must be wired itself.
    if (roles.size === 1) out.set(file, [...roles][0]);
  }
  return out;
}

export interface FunctionUsage {
  readonly files: Set<string>;
  readonly calls: SdkCall[];
  /** Non-DynamoDB actions. */
  readonly actions: Set<string>;
  /** DynamoDB actions per table. */
  readonly tables: Record<TableRole, Set<string>>;
}

export function usageOf(handlerFile: string): FunctionUsage {
  const files = reachableFiles(join(LAMBDA_DIR, 'handlers', handlerFile));
  const tableOf = inheritTables(tableOfFiles(), files);
  const calls = [...files].flatMap(sdkCalls);
  const actions = new Set<string>();
  const tables: Record<TableRole, Set<string>> = { policy: new Set(), ledger: new Set() };
  for (const c of calls) {
    if (!c.action.startsWith('dynamodb:')) {
      actions.add(c.action);
      continue;
    }
    const table = tableOf.get(join(ROOT, c.file));
    if (!table) throw new Error(`${c.file} sends ${c.command} but wiring.ts does not say which table it uses`);
    tables[table].add(c.action);
  }
  return { files, calls, actions, tables };
}
