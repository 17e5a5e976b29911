/** Node options read as integers are checked when the node message is set (src/node/options.ts). */
import { describe, expect, it } from 'vitest'
import { createNode } from '../../src/node/node.ts'
import { message } from '../../src/core/value.ts'
import { InvalidNodeOption, checkNodeOptions } from '../../src/node/options.ts'

describe('node options', () => {
  it('createNode refuses an option that is not an integer, or is below its least value', async () => {
    for (const config of [
      message({ scheduler_signatures: 'two' }), message({ scheduler_signatures: 0n }), message({ process_cache_frequency: -3n }),
      message({ lua_max_instructions: '1e9' }), message({ lua_max_memory: true }),
    ]) {
      await expect(createNode({ config })).rejects.toBeInstanceOf(InvalidNodeOption)
    }
  })

  it('accepts integers as numbers or as text, and options it does not read as integers', async () => {
    expect(() => checkNodeOptions(message({ scheduler_signatures: '4', process_cache_frequency: 0n, lua_max_memory: ' 1024 ', other: 'x' }))).not.toThrow()
    const node = await createNode({ config: message({ scheduler_signatures: 3n }) })
    expect(node.config['scheduler_signatures']).toBe(3n)
  })

  it('the error is a 400 that names the option and the value', () => {
    try {
      checkNodeOptions(message({ 'Scheduler_Signatures': 'many' }))
      expect.unreachable()
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidNodeOption)
      expect((e as InvalidNodeOption).message).toBe('node option scheduler_signatures must be an integer of at least 1, not "many"')
      expect(((e as Error).constructor as unknown as { status: number }).status).toBe(400)
    }
  })
})
