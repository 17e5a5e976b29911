/** `npm run bench`: every benchmark, each against a baseline measured in the same run. */
import { benchIds, printIds } from './ids.ts'

console.log(`node ${process.version}, ${new Date().toISOString()}`)
printIds(benchIds())
