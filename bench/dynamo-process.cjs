// dynalite (the local DynamoDB) in its own Node process, so that it has its own event
// loop and CPU, as DynamoDB is a remote service for the Lambda functions. The parent gets
// the port over IPC and can ask for this process's CPU time and peak RSS.
const dynalite = require('dynalite');
const level = require(require.resolve('abstract-level', { paths: [require.resolve('memory-level', { paths: [require.resolve('dynalite')] })] }));

// As closeDynaliteIterators() in local/dynamodb.ts (this file runs without the TypeScript
// loader): dynalite closes its Query and Scan iterators with return(), which they lack.
for (const name of ['AbstractIterator', 'AbstractKeyIterator', 'AbstractValueIterator']) {
  level[name].prototype.return ??= function () {
    return this.close();
  };
}

const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
process.on('message', (m) => {
  if (m === 'stats') {
    const cpu = process.cpuUsage();
    process.send({ cpuMs: (cpu.user + cpu.system) / 1000, maxRssBytes: process.resourceUsage().maxRSS * 1024 });
  }
});
process.on('disconnect', () => process.exit(0));
