import { runBurst } from './burst';
runBurst({ events: Number(process.argv[2]), ratePerSecond: Number(process.argv[3]), workers: 20, progress: console.log }).then((r) => console.log(JSON.stringify(r, null, 1)));
