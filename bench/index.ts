/** `npm run bench`: every benchmark, each against a baseline measured in the same run. */
import { benchIds, printIds } from './ids.ts'
import { benchResolve, printResolve } from './resolve.ts'
import { benchHttp, printHttp } from './http.ts'

console.log(`node ${process.version}, ${new Date().toISOString()}`)
printIds(benchIds())
printResolve(await benchResolve())
printHttp(await benchHttp())
