/** Reading input files (`-` is stdin) with one clear line on failure. */
import { readFileSync } from 'node:fs';
import { usage } from './errors';

export function readText(file: string): string {
  try {
    return file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why =
      err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'is a directory' : err.code === 'EACCES' ? 'permission denied' : err.message;
    throw usage(`${file === '-' ? 'stdin' : file}: cannot read: ${why}`);
  }
}

export function readJson(file: string): unknown {
  const text = readText(file);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw usage(`${file === '-' ? 'stdin' : file}: not valid JSON: ${(e as Error).message}`);
  }
}
