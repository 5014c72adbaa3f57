import 'reflect-metadata';
import { runReleaseBench } from './src/bench/releases.js';
const r = await runReleaseBench(Number(process.argv[2] ?? 50), (l) => process.stdout.write(l));
process.exit(r.ok ? 0 : 1);
