/**
 * snp@1.0 as a device (generate → verify through the resolver, with a
 * simulated machine under a TEST root), the Node hardware capability
 * (configfs-tsm emulated in memory; "no SEV-SNP hardware" on this machine),
 * and the certificate table of extended reports.
 */
import { describe, expect, it } from 'vitest'
import { createContext, resolve } from '../../src/core/ao.ts'
import { DeviceRegistry, PRELOADED } from '../../src/devices/index.ts'
import { createSnpDevice, snpDevice } from '../../src/devices/snp.ts'
import { emptyMessage, isMessage, type Message, type Value } from '../../src/core/value.ts'
import { loadJwk } from '../../src/crypto/wallet.ts'
import { commitMessage } from '../../src/codecs/commitments.ts'
import { toB64Url } from '../../src/core/bytes.ts'
import { expectedMeasurement } from '../../src/snp/evidence.ts'
import { nodeSnpHardware, parseCertTable, detectSnp, type TsmFs } from '../../src/snp/generate-node.ts'
import { parseReport } from '../../src/snp/report.ts'
import { simulatedSnp, type SimulatedSnp } from '../vectors/snp-sim.ts'
import { nodeFixtures } from './node-fixtures.ts'

const AT = new Date('2026-01-01T00:00:00Z')
const msg = (o: Record<string, Value>): Message => Object.assign(emptyMessage(), o)
const HASHES = msg({
  vcpus: 4n, vcpu_type: 13n, vmm_type: 1n, guest_features: 1n,
  firmware: 'b8c5d4082d5738db6b0fb0294174992738645df70c44cdecf7fad3a62244b788e7e408c582ee48a74b289f3acec78510',
  kernel: '69d0cd7d13858e4fcef6bc7797aebd258730f215bc5642c4ad8e4b893cc67576',
  initrd: '544045560322dbcd2c454bdc50f35edf0147829ec440e6cb487b4a1503f923c1',
  append: '95a34faced5e487991f9cc2253a41cbd26b708bf00328f98dddbbf6b3ea2892e',
})

const wallet = nodeFixtures.json('hyperbeam-data/test/key-1.json').then((j) => loadJwk(j))

function hardware(sim: SimulatedSnp, measurement = expectedMeasurement(HASHES)) {
  return async (rd: Uint8Array) => ({ report: await sim.report(rd, { measurement }), certificates: { vcek: sim.vcekDer } })
}

describe('snp@1.0 device', () => {
  it('is preloaded', () => {
    expect(PRELOADED).toContain(snpDevice)
  })

  it('generate → commit → verify: "true", and `checks` lists every check', async () => {
    const sim = await simulatedSnp()
    const w = await wallet
    const node = msg({ snp_trusted: [HASHES], priv_note: 'private' })
    const snp = createSnpDevice({ trust: sim.trust, now: () => AT })
    const ctx = createContext({ devices: new DeviceRegistry([...PRELOADED.filter((d) => d !== snpDevice), snp]), node, wallet: w, capabilities: { snp: hardware(sim) } })
    const gen = await resolve(msg({ device: 'snp@1.0' }), 'generate', ctx)
    expect(gen.status).toBe('ok')
    const ev = gen.value as Message
    expect(Object.keys(ev).filter((k) => k !== 'priv').sort()).toEqual(['address', 'certificate', 'local-hashes', 'node-message', 'nonce', 'report'])
    delete ev['priv']
    expect(ev['address']).toBe(w.address)
    expect(isMessage(ev['node-message']) && 'priv_note' in ev['node-message']).toBe(false)
    expect(JSON.parse(ev['report'] as string).version).toBe(2)
    const signed = await commitMessage(ev, { wallet: w })
    const v = await resolve(msg({ device: 'snp@1.0' }), msg({ path: 'verify', body: signed }), ctx)
    expect(v).toEqual({ status: 'ok', value: 'true' })
    const c = await resolve(msg({ device: 'snp@1.0' }), msg({ path: 'checks', body: signed }), ctx)
    const r = c.value as Message
    expect(r['hyperbeam']).toBe('true')
    expect(r['verified']).toBe(true)
    const checks = r['checks'] as Message
    expect(Object.keys(checks)).toEqual(expect.arrayContaining(['nonce', 'report-data', 'signature', 'debug', 'trusted-software', 'measurement', 'report/chip-id', 'report/tcb', 'report/report-signature']))
    for (const k of Object.keys(checks)) expect((checks[k] as Message)['ok'], k).toBe(true)
  })

  it('verify under the shipped AMD roots rejects the TEST root: report_signature_invalid', async () => {
    const sim = await simulatedSnp()
    const w = await wallet
    const node = msg({ snp_trusted: [HASHES] })
    const ctx = createContext({ devices: new DeviceRegistry(PRELOADED), node, wallet: w, capabilities: { snp: hardware(sim) } })
    const ev = (await resolve(msg({ device: 'snp@1.0' }), 'generate', ctx)).value as Message
    const v = await resolve(msg({ device: 'snp@1.0' }), msg({ path: 'verify', body: await commitMessage(ev, { wallet: w }) }), ctx)
    expect(v).toEqual({ status: 'error', value: 'report_signature_invalid' })
  })

  it('HyperBEAM\'s answers: debug_enabled, measurement_invalid, untrusted_software', async () => {
    const sim = await simulatedSnp()
    const w = await wallet
    const snp = createSnpDevice({ trust: sim.trust, now: () => AT })
    const devices = new DeviceRegistry([...PRELOADED.filter((d) => d !== snpDevice), snp])
    const verifyWith = async (hw: ReturnType<typeof hardware>, trusted: Message = HASHES) => {
      const ctx = createContext({ devices, node: msg({ snp_trusted: [trusted] }), wallet: w, capabilities: { snp: hw } })
      const ev = (await resolve(msg({ device: 'snp@1.0' }), 'generate', ctx)).value as Message
      return resolve(msg({ device: 'snp@1.0' }), msg({ path: 'verify', body: await commitMessage(ev, { wallet: w }) }), createContext({ devices, node: msg({ snp_trusted: [HASHES] }) }))
    }
    const debug = async (rd: Uint8Array) => ({ report: await sim.report(rd, { measurement: expectedMeasurement(HASHES), policy: 0x30000n | (1n << 19n) }), certificates: { vcek: sim.vcekDer } })
    expect(await verifyWith(debug)).toEqual({ status: 'error', value: 'debug_enabled' })
    expect(await verifyWith(hardware(sim, new Uint8Array(48)))).toEqual({ status: 'error', value: 'measurement_invalid' })
    expect(await verifyWith(hardware(sim), msg({ ...HASHES, kernel: '00'.repeat(32) }))).toEqual({ status: 'error', value: 'untrusted_software' })
  })

  it('generate without hardware or wallet is a typed error', async () => {
    const w = await wallet
    const none = createContext({ devices: new DeviceRegistry(PRELOADED), node: emptyMessage(), wallet: w })
    await expect(resolve(msg({ device: 'snp@1.0' }), 'generate', none)).rejects.toMatchObject({ name: 'SnpHardwareUnavailable', status: 503 })
    const noWallet = createContext({ devices: new DeviceRegistry(PRELOADED), node: emptyMessage(), capabilities: { snp: async () => { throw new Error('not called') } } })
    await expect(resolve(msg({ device: 'snp@1.0' }), 'generate', noWallet)).rejects.toMatchObject({ name: 'SnpNoWallet' })
    const empty = createContext({ devices: new DeviceRegistry(PRELOADED), node: msg({ snp_trusted: [] }), wallet: w, capabilities: { snp: async () => { throw new Error('not called') } } })
    await expect(resolve(msg({ device: 'snp@1.0' }), 'generate', empty)).rejects.toMatchObject({ name: 'SnpNoTrustedConfigs' })
    await expect(resolve(msg({ device: 'snp@1.0' }), msg({ path: 'verify', body: msg({ address: w.address }) }), none)).rejects.toMatchObject({ name: 'InvalidSnpMessage', status: 400 })
  })
})

/** configfs-tsm as the kernel presents it, in memory: mkdir makes an entry, outblob is the report over inblob. */
function fakeTsm(sim: SimulatedSnp, aux?: Uint8Array): TsmFs & { entries: Set<string>; removed: string[] } {
  const files = new Map<string, Uint8Array>()
  const entries = new Set<string>()
  const removed: string[] = []
  let gen = 0
  return {
    entries, removed,
    exists: async (p) => p === '/tsm',
    mkdir: async (p) => { entries.add(p) },
    rmdir: async (p) => { entries.delete(p); removed.push(p) },
    write: async (p, d) => { files.set(p, typeof d === 'string' ? new TextEncoder().encode(d) : d); if (p.endsWith('/inblob')) gen++ },
    read: async (p) => {
      const dir = p.slice(0, p.lastIndexOf('/'))
      if (!entries.has(dir)) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' })
      if (p.endsWith('/provider')) return new TextEncoder().encode('sev_guest\n')
      if (p.endsWith('/generation')) return new TextEncoder().encode(`${gen}\n`)
      if (p.endsWith('/outblob')) return sim.report(files.get(`${dir}/inblob`)!)
      if (p.endsWith('/auxblob')) { if (aux) return aux; throw new Error('ENOENT') }
      throw new Error(`unexpected read ${p}`)
    },
  }
}

function certTable(entries: [string, Uint8Array][]): Uint8Array {
  const guid = (s: string): number[] => {
    const h = s.replace(/-/g, '')
    const x = Array.from({ length: 16 }, (_, i) => parseInt(h.slice(2 * i, 2 * i + 2), 16))
    return [x[3]!, x[2]!, x[1]!, x[0]!, x[5]!, x[4]!, x[7]!, x[6]!, ...x.slice(8)]
  }
  const head = 24 * (entries.length + 1)
  const total = head + entries.reduce((n, [, d]) => n + d.length, 0)
  const out = new Uint8Array(total)
  const v = new DataView(out.buffer)
  let off = head
  entries.forEach(([g, d], i) => {
    out.set(guid(g), i * 24); v.setUint32(i * 24 + 16, off, true); v.setUint32(i * 24 + 20, d.length, true)
    out.set(d, off); off += d.length
  })
  return out
}

describe('snp Node hardware capability', () => {
  it('this machine has no SEV-SNP hardware: a clear typed error', async () => {
    const kind = await detectSnp()
    if (kind !== undefined) return // a real SEV-SNP guest: nothing to assert here
    await expect(nodeSnpHardware()(new Uint8Array(64))).rejects.toMatchObject({ name: 'SnpHardwareUnavailable', status: 503, message: expect.stringMatching(/no SEV-SNP hardware/) })
  })

  it('configfs-tsm: writes inblob and privlevel, reads outblob and the certificate table, removes its entry', async () => {
    const sim = await simulatedSnp()
    const aux = certTable([['63da758d-e664-4564-adc5-f4b93be8accd', sim.vcekDer], ['4ab7b379-bbac-4fe4-a02f-05aef327c782', new Uint8Array([1, 2, 3])]])
    const fs = fakeTsm(sim, aux)
    const rd = new Uint8Array(64).fill(5)
    const out = await nodeSnpHardware({ tsmDir: '/tsm', fs })(rd)
    expect(parseReport(out.report).reportData).toEqual(rd)
    expect(out.certificates?.vcek).toEqual(sim.vcekDer)
    expect(out.certificates?.ask).toEqual(new Uint8Array([1, 2, 3]))
    expect(fs.entries.size).toBe(0)
    expect(fs.removed).toHaveLength(1)
    await expect(nodeSnpHardware({ tsmDir: '/tsm', fs })(new Uint8Array(10))).rejects.toMatchObject({ name: 'SnpGenerateFailed' })
  })

  it('parseCertTable stops at the zero GUID and ignores unknown entries', () => {
    const t = certTable([['c0b406a4-a803-4952-9743-3fb6014cd0ae', new Uint8Array([9])], ['00000000-0000-0000-0000-00000000000a', new Uint8Array([8])]])
    expect(parseCertTable(t)).toEqual({ ark: new Uint8Array([9]) })
    expect(toB64Url(new Uint8Array(0))).toBe('')
  })
})
