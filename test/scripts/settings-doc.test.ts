/** docs/settings.md is exactly what scripts/settings-doc.ts writes from the settings table. */
import * as fs from 'fs';
import { SETTINGS_DOC, renderSettingsDoc } from '../../scripts/settings-doc';
import { SETTING_LIST } from '../../contract/settings';

test('docs/settings.md is up to date with contract/settings.ts', () => {
  const written = fs.existsSync(SETTINGS_DOC) ? fs.readFileSync(SETTINGS_DOC, 'utf8') : '';
  if (written !== renderSettingsDoc()) {
    throw new Error('docs/settings.md differs from the settings table (contract/settings.ts): run `npm run docs:settings` and commit the result.');
  }
});

test('the document has one row per setting, naming its context key and variable', () => {
  const doc = renderSettingsDoc();
  const rows = doc.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| Prop') && !l.startsWith('| ---'));
  expect(rows).toHaveLength(SETTING_LIST.length);
  SETTING_LIST.forEach((s, i) => {
    if (s.context) expect(rows[i]).toContain(`\`${s.context}\``);
    if (s.env) expect(rows[i]).toContain(`\`${s.env}\``);
    expect(rows[i]).toContain(s.meaning);
  });
});
