/** Snapshots: format, blocks, messages (browser-pure; Node's blockstore is ./fs-blockstore.ts). */
export * from './errors.ts'
export * from './format.ts'
export * from './blocks.ts'
export * from './snapshot.ts'
