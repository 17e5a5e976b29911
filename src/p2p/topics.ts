/**
 * Gossip topic names. One global topic for node announcements; three per
 * process (its ID is the signed ID of the process message):
 *   /ao-tab/nodes/1.0.0
 *   /ao-tab/process/1.0.0/<pid>/messages       submitted messages
 *   /ao-tab/process/1.0.0/<pid>/assignments    scheduler assignments
 *   /ao-tab/process/1.0.0/<pid>/attestations   result attestations
 */
import { isHumanId } from '../core/keys.ts'

export const NODES_TOPIC = '/ao-tab/nodes/1.0.0'
const PROCESS_PREFIX = '/ao-tab/process/1.0.0/'

export type ProcessChannel = 'messages' | 'assignments' | 'attestations'
export const PROCESS_CHANNELS: readonly ProcessChannel[] = ['messages', 'assignments', 'attestations']

/** A process ID as topics carry it: 43 base64url characters. */
export const isProcessId = isHumanId

export function processTopic(pid: string, channel: ProcessChannel): string {
  return `${PROCESS_PREFIX}${pid}/${channel}`
}

/** The process and channel of a process topic; undefined for any other topic. */
export function parseProcessTopic(topic: string): { pid: string; channel: ProcessChannel } | undefined {
  if (!topic.startsWith(PROCESS_PREFIX)) return undefined
  const [pid, channel, ...rest] = topic.slice(PROCESS_PREFIX.length).split('/')
  if (rest.length > 0 || pid === undefined || !isHumanId(pid)) return undefined
  return PROCESS_CHANNELS.includes(channel as ProcessChannel) ? { pid, channel: channel as ProcessChannel } : undefined
}
