/**
 * Run by store-fs.test.ts as a child process that gets SIGKILLed at a random
 * moment: writes and links entries in a loop, printing each path once its
 * write resolved. Usage: node --import tsx store-crash-child.ts <root>
 */
import { FsStore } from '../../src/store/fs.ts'
import { message } from '../../src/core/value.ts'

const store = new FsStore(process.argv[2]!)
const big = (i: number): Uint8Array => Uint8Array.from({ length: 200_000 + (i % 7) * 10_000 }, (_, j) => (i + j) & 0xff)
process.stdout.write('ready\n')
for (let i = 0; ; i++) {
  const p = `e/${i % 20}`
  await store.write(p, message({ i: BigInt(i), body: big(i) }))
  await store.link(`l/${i % 20}`, p)
  process.stdout.write(`${i}\n`)
}
