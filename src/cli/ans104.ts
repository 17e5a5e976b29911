/** The `ao` CLI's ANS-104 conversions: message ⇄ binary data item. */
import { toTabm, fromTabm } from '../codecs/structured.ts'
import { tabmToItem, itemToTabm } from '../codecs/ans104/convert.ts'
import { parseItem, serializeItem } from '../codecs/ans104/data-item.ts'
import { isMessage, type Message, type Value } from '../core/value.ts'
import { BadInput } from '../core/errors.ts'

export const ans104Cli = {
  /** A message (with or without an ans104 commitment) as a serialized data item. */
  async encode(msg: Message | Value[]): Promise<Uint8Array> {
    if (Array.isArray(msg)) throw new BadInput('a list cannot be a data item')
    return serializeItem(tabmToItem(toTabm(msg, { linkify: 'discard' })))
  },
  /** A binary data item as a message with its ans104 commitment. */
  async decode(bytes: Uint8Array): Promise<Message> {
    const m = fromTabm(itemToTabm(parseItem(bytes)))
    if (!isMessage(m)) throw new BadInput('the data item decodes to a list, not a message')
    return m
  },
}
