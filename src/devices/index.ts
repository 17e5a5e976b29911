/**
 * The preloaded device registry: devices by name, case-insensitive
 * (HyperBEAM normalizes device names as keys).
 */
import type { Device, DeviceLookup } from '../core/device.ts'
import { messageDevice } from './message.ts'
import { metaDevice } from './meta.ts'
import { relayDevice } from './relay.ts'
import { routerDevice } from './router.ts'
import { snpDevice } from './snp.ts'
import { structuredDevice } from './structured.ts'
import { httpsigDevice } from './httpsig.ts'
import { flatDevice } from './flat.ts'
import { jsonDevice } from './json.ts'
import { ans104Device } from './ans104.ts'
import { applyDevice } from './apply.ts'
import { testDevice } from './test-device.ts'
import { nameDevice } from './name.ts'
import { localNameDevice } from './local-name.ts'
import { lookupDevice } from './lookup.ts'
import { cacheDevice } from './cache.ts'
import { luaDevice } from './lua.ts'
import { schedulerDevice } from './scheduler.ts'
import { processDevice } from './process.ts'
import { stackDevice } from './stack.ts'
import { multipassDevice } from './multipass.ts'
import { patchDevice } from './patch.ts'
import { dedupDevice } from './dedup.ts'
import { pushDevice } from './push.ts'
import { cronDevice } from './cron.ts'
import { p2pDevice } from './p2p.ts'
import { genesisWasmDevice } from './genesis-wasm.ts'

export class DeviceRegistry implements DeviceLookup {
  private readonly byName = new Map<string, Device>()
  constructor(devices: Iterable<Device> = []) {
    for (const d of devices) this.add(d)
  }
  add(d: Device): this {
    this.byName.set(d.name.toLowerCase(), d)
    return this
  }
  get(name: string): Device | undefined {
    return this.byName.get(name.toLowerCase())
  }
  names(): string[] {
    return [...this.byName.values()].map((d) => d.name).sort()
  }
}

/** Every device this node preloads. */
export const PRELOADED: Device[] = [
  messageDevice,
  metaDevice,
  relayDevice,
  routerDevice,
  snpDevice,
  structuredDevice,
  httpsigDevice,
  flatDevice,
  jsonDevice,
  ans104Device,
  applyDevice,
  testDevice,
  nameDevice,
  localNameDevice,
  lookupDevice,
  cacheDevice,
  luaDevice,
  schedulerDevice,
  processDevice,
  stackDevice,
  multipassDevice,
  patchDevice,
  dedupDevice,
  pushDevice,
  cronDevice,
  genesisWasmDevice,
  p2pDevice,
]

export const preloadedDevices = (): DeviceRegistry => new DeviceRegistry(PRELOADED)
