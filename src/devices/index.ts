/**
 * The preloaded device registry: devices by name, case-insensitive
 * (HyperBEAM normalizes device names as keys).
 */
import type { Device, DeviceLookup } from '../core/device.ts'
import { messageDevice } from './message.ts'
import { metaDevice } from './meta.ts'
import { relayDevice } from './relay.ts'
import { routerDevice } from './router.ts'

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
]

export const preloadedDevices = (): DeviceRegistry => new DeviceRegistry(PRELOADED)
