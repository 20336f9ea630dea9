import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AutoRedrive } from '../../lib/auto-redrive';
import { nagFindings, newApp, removeOutdirs, annotationProblems } from './helpers';
afterAll(removeOutdirs);
test('smoke', () => {
  const app = newApp();
  const stack = new Stack(app, 'Test', { env: { account: '123456789012', region: 'eu-west-1' } });
  new AutoRedrive(stack, 'AutoRedrive', { alarmEmail: 'ops@example.com' });
  const t = Template.fromStack(stack).toJSON();
  const fs = require('fs');
  fs.writeFileSync('/tmp/smoke.json', JSON.stringify(t, null, 1));
  console.log(nagFindings(stack), annotationProblems(stack));
});
